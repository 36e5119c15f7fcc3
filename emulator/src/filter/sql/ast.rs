//! The parsed form of an expression: a tree of [`Node`]s, each remembering where it was
//! written, so run-time errors (in actions) can name the operator that failed.

use super::lexer::Pos;
use super::like::LikePattern;
use super::system::SysProp;
use crate::filter::Value;

/// One node of the tree.
#[derive(Debug, Clone)]
pub(crate) struct Node {
    pub expr: Expr,
    pub pos: Pos,
    /// Nodes on the longest path down from here (a leaf is 1); the parser bounds it.
    pub depth: u32,
}

impl Node {
    /// A node over `expr`, its depth taken from its children.
    pub fn new(expr: Expr, pos: Pos) -> Self {
        let below = expr.children().map(|c| c.depth).max().unwrap_or(0);
        Node {
            expr,
            pos,
            depth: below.saturating_add(1),
        }
    }

    /// Whether this node is a condition (`<predicate>` in Azure's grammar) rather than a value
    /// (`<expression>`): AND/OR/NOT take conditions, everything else takes values.
    pub fn is_condition(&self) -> bool {
        matches!(
            self.expr,
            Expr::And(_)
                | Expr::Or(_)
                | Expr::Not(_)
                | Expr::Compare(..)
                | Expr::IsNull { .. }
                | Expr::In { .. }
                | Expr::Like { .. }
                | Expr::Exists(_)
        )
    }
}

/// A property a filter reads or an action writes.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Prop {
    /// `sys.Name`.
    Sys(SysProp),
    /// `user.Name` or a bare name.
    User(Box<str>),
}

/// `=`, `<>` (or `!=`), `>`, `>=`, `<`, `<=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CompareOp {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
}

/// `+`, `-`, `*`, `/`, `%`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ArithOp {
    Add,
    Sub,
    Mul,
    Div,
    Rem,
}

impl ArithOp {
    /// The operator as written.
    pub fn symbol(self) -> &'static str {
        match self {
            ArithOp::Add => "+",
            ArithOp::Sub => "-",
            ArithOp::Mul => "*",
            ArithOp::Div => "/",
            ArithOp::Rem => "%",
        }
    }
}

impl CompareOp {
    /// The operator as written.
    pub fn symbol(self) -> &'static str {
        match self {
            CompareOp::Eq => "=",
            CompareOp::Ne => "<>",
            CompareOp::Gt => ">",
            CompareOp::Ge => ">=",
            CompareOp::Lt => "<",
            CompareOp::Le => "<=",
        }
    }
}

/// The pattern of a LIKE: compiled once when it is a constant, else evaluated per message.
#[derive(Debug, Clone)]
pub(crate) enum LikeRhs {
    Compiled(LikePattern),
    Dynamic {
        pattern: Box<Node>,
        escape: Option<Box<Node>>,
    },
}

/// What a node computes.
#[derive(Debug, Clone)]
pub(crate) enum Expr {
    /// A literal or a `@parameter`'s value.
    Const(Value),
    /// A property read.
    Prop(Prop),
    /// `newid()`.
    NewId,
    /// `property(name)` / `p(name)`.
    PropertyOf(Box<Node>),
    /// Unary `-` (unary `+` checks its operand is numeric).
    Negate(Box<Node>, bool),
    Arith(ArithOp, Box<Node>, Box<Node>),
    Compare(CompareOp, Box<Node>, Box<Node>),
    /// Two or more conditions.
    And(Vec<Node>),
    /// Two or more conditions.
    Or(Vec<Node>),
    Not(Box<Node>),
    IsNull {
        operand: Box<Node>,
        negated: bool,
    },
    In {
        operand: Box<Node>,
        list: Vec<Node>,
        negated: bool,
    },
    Like {
        operand: Box<Node>,
        pattern: LikeRhs,
        negated: bool,
    },
    Exists(Prop),
}

impl Expr {
    /// The direct children.
    pub fn children(&self) -> impl Iterator<Item = &Node> {
        let (one, two, many): (Option<&Node>, Option<&Node>, &[Node]) = match self {
            Expr::Const(_) | Expr::Prop(_) | Expr::NewId | Expr::Exists(_) => (None, None, &[]),
            Expr::PropertyOf(a) | Expr::Negate(a, _) | Expr::Not(a) => (Some(a), None, &[]),
            Expr::IsNull { operand, .. } => (Some(operand), None, &[]),
            Expr::Arith(_, a, b) | Expr::Compare(_, a, b) => (Some(a), Some(b), &[]),
            Expr::And(list) | Expr::Or(list) => (None, None, list),
            Expr::In { operand, list, .. } => (Some(operand), None, list),
            Expr::Like {
                operand, pattern, ..
            } => match pattern {
                LikeRhs::Compiled(_) => (Some(operand), None, &[]),
                LikeRhs::Dynamic { pattern, escape } => (
                    Some(operand),
                    Some(pattern),
                    escape.as_deref().map(std::slice::from_ref).unwrap_or(&[]),
                ),
            },
        };
        one.into_iter().chain(two).chain(many.iter())
    }
}
