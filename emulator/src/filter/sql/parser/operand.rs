//! Values: `+ -` over `* / %` over unary signs over the primaries — constants,
//! `@parameters`, properties, `newid()` / `property(…)`, `EXISTS(…)` and parentheses.

use super::{is_keyword, out_of_range, require_value, Parsed, Parser};
use crate::filter::sql::ast::{ArithOp, Expr, Node, Prop};
use crate::filter::sql::lexer::{Pos, Tok};
use crate::filter::sql::system::SysProp;
use crate::filter::Value;

impl Parser<'_> {
    /// `+`/`-` of `*`/`/`/`%` of unary values.
    pub fn additive(&mut self) -> Parsed<Node> {
        self.binary(&[("+", ArithOp::Add), ("-", ArithOp::Sub)], Self::multiplicative)
    }

    fn multiplicative(&mut self) -> Parsed<Node> {
        let ops = [("*", ArithOp::Mul), ("/", ArithOp::Div), ("%", ArithOp::Rem)];
        self.binary(&ops, Self::unary)
    }

    fn binary(
        &mut self,
        ops: &[(&str, ArithOp)],
        next: fn(&mut Self) -> Parsed<Node>,
    ) -> Parsed<Node> {
        let mut left = next(self)?;
        loop {
            let pos = self.pos();
            let Some(op) = ops.iter().find(|(s, _)| matches!(self.peek(), Tok::Sym(t) if t == s))
            else {
                return Ok(left);
            };
            self.advance();
            let right = require_value(next(self)?)?;
            left = self.node(Expr::Arith(op.1, Box::new(require_value(left)?), Box::new(right)), pos)?;
        }
    }

    fn unary(&mut self) -> Parsed<Node> {
        let pos = self.pos();
        let negate = match self.peek() {
            Tok::Sym("-") => true,
            Tok::Sym("+") => false,
            _ => return self.primary(),
        };
        self.advance();
        // `-9223372036854775808` is a constant, though `9223372036854775808` is out of range.
        if let (true, Tok::Int(digits)) = (negate, self.peek()) {
            let value = format!("-{digits}").parse::<i64>();
            let value = value.map_err(|_| self.pos().error(out_of_range(digits)))?;
            self.advance();
            return self.node(Expr::Const(Value::Long(value)), pos);
        }
        let operand = self.nest(|p| p.unary().and_then(require_value))?;
        self.node(Expr::Negate(Box::new(operand), negate), pos)
    }

    fn primary(&mut self) -> Parsed<Node> {
        let pos = self.pos();
        let expr = match self.advance() {
            Tok::Int(digits) => Expr::Const(Value::Long(
                digits.parse().map_err(|_| pos.error(out_of_range(&digits)))?,
            )),
            Tok::Double(d) => Expr::Const(Value::Double(d)),
            Tok::Str(s) => Expr::Const(Value::String(s)),
            Tok::Param(name) => Expr::Const(self.parameter(&name).map_err(|r| pos.error(r))?),
            Tok::Sym("(") => {
                let inner = self.nest(Self::or)?;
                self.expect_sym(")")?;
                return Ok(inner);
            }
            Tok::Delimited(name) => Expr::Prop(Prop::User(name.into())),
            Tok::Ident(word) => return self.word(word, pos),
            Tok::Eof => return Err(pos.error("syntax error: the expression ends too early")),
            other => {
                return Err(pos.error(format!("syntax error: unexpected {}", other.describe())))
            }
        };
        self.node(expr, pos)
    }

    /// What starts with a regular identifier: a constant keyword, EXISTS, a function call or a
    /// property.
    fn word(&mut self, word: String, pos: Pos) -> Parsed<Node> {
        let is = |kw: &str| word.eq_ignore_ascii_case(kw);
        let expr = if is("TRUE") || is("FALSE") {
            Expr::Const(Value::Bool(is("TRUE")))
        } else if is("NULL") {
            Expr::Const(Value::Null)
        } else if is("EXISTS") {
            self.expect_sym("(")?;
            let prop = self.property()?;
            self.expect_sym(")")?;
            Expr::Exists(prop)
        } else if matches!(self.peek(), Tok::Sym("(")) {
            self.advance();
            self.function(&word, pos)?
        } else {
            Expr::Prop(self.property_after(word, pos)?)
        };
        self.node(expr, pos)
    }

    fn function(&mut self, name: &str, pos: Pos) -> Parsed<Expr> {
        if name.eq_ignore_ascii_case("newid") {
            self.expect_sym(")")?;
            return Ok(Expr::NewId);
        }
        if name.eq_ignore_ascii_case("property") || name.eq_ignore_ascii_case("p") {
            let arg = self.nest(|p| p.additive().and_then(require_value))?;
            self.expect_sym(")")?;
            return Ok(Expr::PropertyOf(Box::new(arg)));
        }
        Err(pos.error(format!(
            "unknown function '{name}' (the functions are newid(), property(name) and p(name))"
        )))
    }

    /// A property reference: `sys.Name`, `user.Name`, `Name`, `[Name]`, `"Name"`.
    pub fn property(&mut self) -> Parsed<Prop> {
        let pos = self.pos();
        match self.advance() {
            Tok::Ident(word) => self.property_after(word, pos),
            Tok::Delimited(name) => Ok(Prop::User(name.into())),
            other => Err(pos.error(format!(
                "syntax error: expected a property name, found {}",
                other.describe()
            ))),
        }
    }

    fn property_after(&mut self, first: String, pos: Pos) -> Parsed<Prop> {
        if !self.eat_sym(".") {
            if is_keyword(&first) {
                return Err(pos.error(format!(
                    "syntax error: unexpected keyword '{first}' (write [{first}] for a property of that name)"
                )));
            }
            return Ok(Prop::User(first.into()));
        }
        let name_pos = self.pos();
        let name = match self.advance() {
            Tok::Ident(n) | Tok::Delimited(n) => n,
            other => {
                return Err(name_pos.error(format!(
                    "syntax error: expected a property name after '{first}.', found {}",
                    other.describe()
                )))
            }
        };
        if first.eq_ignore_ascii_case("sys") {
            SysProp::lookup(&name).map(Prop::Sys).map_err(|r| name_pos.error(r))
        } else if first.eq_ignore_ascii_case("user") {
            Ok(Prop::User(name.into()))
        } else {
            Err(pos.error(format!("unknown scope '{first}' (the scopes are sys and user)")))
        }
    }

    /// The value of `@name`: the parameter given as `@name` (or `name`), exactly or else in
    /// any case.
    fn parameter(&self, name: &str) -> Result<Value, String> {
        let bare = name.trim_start_matches('@');
        let key = |k: &str| k.trim_start_matches('@').to_owned();
        self.params
            .iter()
            .find(|(k, _)| key(k) == bare)
            .or_else(|| self.params.iter().find(|(k, _)| key(k).eq_ignore_ascii_case(bare)))
            .map(|(_, v)| v.clone())
            .ok_or_else(|| format!("no value was given for the parameter '{name}'"))
    }
}
