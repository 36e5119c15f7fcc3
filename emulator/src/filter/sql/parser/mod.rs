//! Recursive descent over the tokens, by precedence (lowest first): `OR`, `AND`, `NOT`, the
//! predicates (comparison, `IS [NOT] NULL`, `[NOT] IN`, `[NOT] LIKE … [ESCAPE …]`), `+ -`,
//! `* / %`, unary `+ -`, then constants, `@parameters`, properties, functions, `EXISTS(…)` and
//! parentheses. Predicates do not chain (`a = b = c` is refused, as in SQL).
//!
//! Azure's grammar keeps conditions (`<predicate>`) and values (`<expression>`) apart: AND,
//! OR, NOT and a whole filter take conditions; comparisons, arithmetic, IN and LIKE take
//! values. The parser enforces that, so `a + (b = 1)` or a bare `TRUE` as a filter are
//! refused with their position instead of failing on every message.
//!
//! Every recursion goes through [`Parser::nest`] and every node is checked by
//! [`Parser::node`], so neither the parser nor the evaluation can go deeper than
//! [`MAX_DEPTH`](super::MAX_DEPTH), whatever the input.

mod operand;

use super::ast::{CompareOp, Expr, LikeRhs, Node};
use super::lexer::{Pos, Tok};
use super::like::LikePattern;
use super::{SqlError, MAX_DEPTH, MAX_IN_LIST};
use crate::filter::Value;

/// Words that cannot be bare property names (write `[name]` for a property called so).
const KEYWORDS: [&str; 12] = [
    "AND", "OR", "NOT", "IS", "NULL", "IN", "LIKE", "ESCAPE", "EXISTS", "TRUE", "FALSE", "SET",
];
/// Also a keyword (actions); listed apart to keep the table above readable.
const REMOVE: &str = "REMOVE";

pub(crate) struct Parser<'p> {
    toks: Vec<(Tok, Pos)>,
    at: usize,
    params: &'p [(String, Value)],
    nesting: u32,
}

type Parsed<T> = Result<T, SqlError>;

impl<'p> Parser<'p> {
    pub fn new(toks: Vec<(Tok, Pos)>, params: &'p [(String, Value)]) -> Self {
        Parser {
            toks,
            at: 0,
            params,
            nesting: 0,
        }
    }

    // ---- token helpers ----

    pub fn peek(&self) -> &Tok {
        self.toks.get(self.at).map_or(&Tok::Eof, |(t, _)| t)
    }

    fn peek_at(&self, ahead: usize) -> &Tok {
        self.toks.get(self.at + ahead).map_or(&Tok::Eof, |(t, _)| t)
    }

    pub fn pos(&self) -> Pos {
        self.toks
            .get(self.at)
            .or(self.toks.last())
            .map_or(Pos { line: 1, column: 1 }, |(_, p)| *p)
    }

    fn advance(&mut self) -> Tok {
        let tok = self.peek().clone();
        if self.at < self.toks.len() {
            self.at += 1;
        }
        tok
    }

    /// Whether the next token is the keyword `kw` (any case).
    pub fn at_keyword(&self, kw: &str) -> bool {
        matches!(self.peek(), Tok::Ident(s) if s.eq_ignore_ascii_case(kw))
    }

    pub fn eat_keyword(&mut self, kw: &str) -> bool {
        let yes = self.at_keyword(kw);
        if yes {
            self.advance();
        }
        yes
    }

    pub fn eat_sym(&mut self, sym: &str) -> bool {
        let yes = matches!(self.peek(), Tok::Sym(s) if *s == sym);
        if yes {
            self.advance();
        }
        yes
    }

    pub fn expect_sym(&mut self, sym: &str) -> Parsed<()> {
        if self.eat_sym(sym) {
            Ok(())
        } else {
            Err(self.unexpected(&format!("'{sym}'")))
        }
    }

    /// "expected X, found Y" at the next token.
    pub fn unexpected(&self, expected: &str) -> SqlError {
        self.pos().error(format!(
            "syntax error: expected {expected}, found {}",
            self.peek().describe()
        ))
    }

    /// Runs `f` one level deeper, refusing to go past [`MAX_DEPTH`].
    fn nest<T>(&mut self, f: impl FnOnce(&mut Self) -> Parsed<T>) -> Parsed<T> {
        if self.nesting >= MAX_DEPTH {
            return Err(self.pos().error(too_deep()));
        }
        self.nesting += 1;
        let out = f(self);
        self.nesting -= 1;
        out
    }

    /// A node, refused when the tree would get deeper than [`MAX_DEPTH`].
    fn node(&self, expr: Expr, pos: Pos) -> Parsed<Node> {
        let node = Node::new(expr, pos);
        if node.depth > MAX_DEPTH {
            return Err(pos.error(too_deep()));
        }
        Ok(node)
    }

    // ---- conditions ----

    /// A whole filter: one condition, then the end.
    pub fn filter(&mut self) -> Parsed<Node> {
        let node = self.condition()?;
        if *self.peek() != Tok::Eof {
            return Err(self.unexpected("AND, OR or the end of the expression"));
        }
        Ok(node)
    }

    /// `OR` of `AND`s of …, required to be a condition.
    pub fn condition(&mut self) -> Parsed<Node> {
        let node = self.or()?;
        require_condition(node)
    }

    fn or(&mut self) -> Parsed<Node> {
        self.chain("OR", Self::and, Expr::Or)
    }

    fn and(&mut self) -> Parsed<Node> {
        self.chain("AND", Self::not, Expr::And)
    }

    /// `first KW next KW next …` as one n-ary node (so long chains add no depth).
    fn chain(
        &mut self,
        kw: &str,
        next: fn(&mut Self) -> Parsed<Node>,
        make: fn(Vec<Node>) -> Expr,
    ) -> Parsed<Node> {
        let first = next(self)?;
        if !self.at_keyword(kw) {
            return Ok(first);
        }
        let pos = first.pos;
        let mut list = vec![require_condition(first)?];
        while self.eat_keyword(kw) {
            list.push(require_condition(next(self)?)?);
        }
        self.node(make(list), pos)
    }

    fn not(&mut self) -> Parsed<Node> {
        let pos = self.pos();
        if self.eat_keyword("NOT") {
            let operand = self.nest(|p| p.not().and_then(require_condition))?;
            return self.node(Expr::Not(Box::new(operand)), pos);
        }
        self.predicate()
    }

    fn predicate(&mut self) -> Parsed<Node> {
        let left = self.additive()?;
        let pos = self.pos();
        if let Some(op) = compare_op(self.peek()) {
            self.advance();
            let right = require_value(self.additive()?)?;
            let expr = Expr::Compare(op, Box::new(require_value(left)?), Box::new(right));
            return self.node(expr, pos);
        }
        if self.eat_keyword("IS") {
            let negated = self.eat_keyword("NOT");
            if !self.eat_keyword("NULL") {
                return Err(self.unexpected("NULL"));
            }
            let operand = Box::new(require_value(left)?);
            return self.node(Expr::IsNull { operand, negated }, pos);
        }
        let negated = self.at_keyword("NOT")
            && matches!(self.peek_at(1), Tok::Ident(s) if s.eq_ignore_ascii_case("IN") || s.eq_ignore_ascii_case("LIKE"));
        if negated {
            self.advance();
        }
        if self.eat_keyword("IN") {
            let operand = Box::new(require_value(left)?);
            let list = self.in_list()?;
            return self.node(
                Expr::In {
                    operand,
                    list,
                    negated,
                },
                pos,
            );
        }
        if self.eat_keyword("LIKE") {
            let operand = Box::new(require_value(left)?);
            let pattern = self.like_pattern()?;
            return self.node(
                Expr::Like {
                    operand,
                    pattern,
                    negated,
                },
                pos,
            );
        }
        Ok(left)
    }

    fn in_list(&mut self) -> Parsed<Vec<Node>> {
        self.expect_sym("(")?;
        let mut list = Vec::new();
        loop {
            if list.len() >= MAX_IN_LIST {
                return Err(self
                    .pos()
                    .error(format!("an IN list has more than {MAX_IN_LIST} values")));
            }
            list.push(require_value(self.additive()?)?);
            if !self.eat_sym(",") {
                break;
            }
        }
        self.expect_sym(")")?;
        Ok(list)
    }

    /// The pattern and optional escape of a LIKE, compiled now when both are constants.
    fn like_pattern(&mut self) -> Parsed<LikeRhs> {
        let pattern = require_value(self.additive()?)?;
        let escape = if self.eat_keyword("ESCAPE") {
            Some(require_value(self.additive()?)?)
        } else {
            None
        };
        let escape_char = match escape.as_ref().map(|e| (&e.expr, e.pos)) {
            None => Some(None),
            Some((Expr::Const(Value::String(s)), at)) => {
                let mut chars = s.chars();
                match (chars.next(), chars.next()) {
                    (Some(c), None) => Some(Some(c)),
                    _ => return Err(at.error("the ESCAPE character must be a string of length 1")),
                }
            }
            Some(_) => None,
        };
        if let (Expr::Const(Value::String(text)), Some(escape_char)) = (&pattern.expr, escape_char) {
            return LikePattern::compile(text, escape_char)
                .map(LikeRhs::Compiled)
                .map_err(|reason| pattern.pos.error(reason));
        }
        Ok(LikeRhs::Dynamic {
            pattern: Box::new(pattern),
            escape: escape.map(Box::new),
        })
    }
}

fn compare_op(tok: &Tok) -> Option<CompareOp> {
    Some(match tok {
        Tok::Sym("=") => CompareOp::Eq,
        Tok::Sym("<>" | "!=") => CompareOp::Ne,
        Tok::Sym(">") => CompareOp::Gt,
        Tok::Sym(">=") => CompareOp::Ge,
        Tok::Sym("<") => CompareOp::Lt,
        Tok::Sym("<=") => CompareOp::Le,
        _ => return None,
    })
}

/// Whether `word` is reserved.
pub(crate) fn is_keyword(word: &str) -> bool {
    KEYWORDS.iter().any(|k| k.eq_ignore_ascii_case(word)) || REMOVE.eq_ignore_ascii_case(word)
}

/// `node`, if it is a condition.
fn require_condition(node: Node) -> Parsed<Node> {
    if node.is_condition() {
        Ok(node)
    } else {
        Err(node.pos.error(
            "expected a condition (a comparison, IN, LIKE, IS NULL or EXISTS), found a value",
        ))
    }
}

/// `node`, if it is a value.
pub(crate) fn require_value(node: Node) -> Parsed<Node> {
    if node.is_condition() {
        Err(node.pos.error("expected a value, found a condition"))
    } else {
        Ok(node)
    }
}

fn too_deep() -> String {
    format!("the expression is nested more than {MAX_DEPTH} levels deep")
}

fn out_of_range(digits: &str) -> String {
    format!("integer constant '{digits}' is out of the range of a long")
}
