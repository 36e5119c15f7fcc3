//! The settings tree that `BERTH__…` variables are applied to: `host.toml`'s values, each
//! remembering whether it came from the file or from which variable, written back out as
//! TOML text with the origin of every line, so the strict parse of that text can name the
//! variable behind an error.

use std::collections::BTreeMap;

/// Where a value or table came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Origin {
    /// `host.toml`.
    File,
    /// The environment variable with this index.
    Env(usize),
}

/// A key's value: a table to descend into, or anything else.
#[derive(Debug, Clone)]
pub(crate) enum Node {
    /// A table (`[a.b]` or an inline table).
    Table(Tree),
    /// A value; arrays, even of tables, stay values.
    Value(toml::Value, Origin),
}

/// A table with the origin of its header.
#[derive(Debug, Clone)]
pub(crate) struct Tree {
    /// Its keys.
    pub entries: BTreeMap<String, Node>,
    /// Who created it.
    pub origin: Origin,
}

/// Why a value could not be put at its path.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct NotATable {
    /// The dotted path of the value in the way.
    pub path: String,
    /// Who set that value.
    pub origin: Origin,
}

impl Tree {
    /// An empty table.
    pub fn new(origin: Origin) -> Tree {
        Tree {
            entries: BTreeMap::new(),
            origin,
        }
    }

    /// The tree of a parsed file.
    pub fn from_table(table: toml::Table, origin: Origin) -> Tree {
        let entries = table
            .into_iter()
            .map(|(key, value)| (key, Node::from_value(value, origin)))
            .collect();
        Tree { entries, origin }
    }

    /// Puts `value` at `path` (which must not be empty), creating the tables on the way with
    /// `origin` and replacing whatever was there.
    pub fn set(
        &mut self,
        path: &[String],
        value: toml::Value,
        origin: Origin,
    ) -> Result<(), NotATable> {
        let Some((last, parents)) = path.split_last() else {
            return Ok(());
        };
        let mut tree = self;
        for (depth, key) in parents.iter().enumerate() {
            let node = tree
                .entries
                .entry(key.clone())
                .or_insert_with(|| Node::Table(Tree::new(origin)));
            tree = match node {
                Node::Table(t) => t,
                Node::Value(_, by) => {
                    return Err(NotATable {
                        path: path[..=depth].join("."),
                        origin: *by,
                    })
                }
            };
        }
        tree.entries
            .insert(last.clone(), Node::from_value(value, origin));
        Ok(())
    }

    /// The TOML text of the tree, and the origin of each of its lines.
    pub fn render(&self) -> (String, Vec<Origin>) {
        let mut out = Rendered::default();
        self.render_into(&mut Vec::new(), &mut out);
        (out.text, out.origins)
    }

    fn render_into(&self, path: &mut Vec<String>, out: &mut Rendered) {
        if !path.is_empty() {
            let header: Vec<String> = path.iter().map(|k| key(k)).collect();
            out.line(format!("[{}]", header.join(".")), self.origin);
        }
        for (name, node) in &self.entries {
            if let Node::Value(value, origin) = node {
                out.line(format!("{} = {value}", key(name)), *origin);
            }
        }
        for (name, node) in &self.entries {
            if let Node::Table(tree) = node {
                path.push(name.clone());
                tree.render_into(path, out);
                path.pop();
            }
        }
    }
}

impl Node {
    fn from_value(value: toml::Value, origin: Origin) -> Node {
        match value {
            toml::Value::Table(table) => Node::Table(Tree::from_table(table, origin)),
            other => Node::Value(other, origin),
        }
    }
}

/// Text being written, with the origin of every line.
#[derive(Default)]
struct Rendered {
    text: String,
    origins: Vec<Origin>,
}

impl Rendered {
    fn line(&mut self, line: String, origin: Origin) {
        // A value may span lines (a multi-line string): each of them has the value's origin.
        for _ in 0..=line.matches('\n').count() {
            self.origins.push(origin);
        }
        self.text.push_str(&line);
        self.text.push('\n');
    }
}

/// A key as TOML writes it: bare when it can be, quoted otherwise.
fn key(name: &str) -> String {
    let bare = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if bare {
        name.to_owned()
    } else {
        toml::Value::String(name.to_owned()).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(text: &str) -> Vec<String> {
        text.split('.').map(str::to_owned).collect()
    }

    #[test]
    fn renders_values_before_subtables_with_each_lines_origin() {
        let file: toml::Table = toml::from_str("a = 1\n[t]\nb = \"x\"\n").unwrap();
        let mut tree = Tree::from_table(file, Origin::File);
        tree.set(&path("t.u.c"), toml::Value::Boolean(true), Origin::Env(0))
            .unwrap();
        tree.set(&path("a"), toml::Value::Integer(2), Origin::Env(1))
            .unwrap();
        tree.set(
            &path("fn with space.k"),
            toml::Value::Integer(3),
            Origin::Env(2),
        )
        .unwrap();
        let (text, origins) = tree.render();
        assert_eq!(
            text,
            "a = 2\n[\"fn with space\"]\nk = 3\n[t]\nb = \"x\"\n[t.u]\nc = true\n"
        );
        use Origin::{Env, File};
        assert_eq!(
            origins,
            [Env(1), Env(2), Env(2), File, File, Env(0), Env(0)]
        );
        let reparsed: toml::Table = toml::from_str(&text).unwrap();
        assert_eq!(reparsed["t"]["u"]["c"].as_bool(), Some(true));
    }

    #[test]
    fn a_value_in_the_way_is_reported_with_its_origin() {
        let mut tree = Tree::new(Origin::File);
        tree.set(&path("a"), toml::Value::Integer(1), Origin::Env(0))
            .unwrap();
        let err = tree
            .set(&path("a.b.c"), toml::Value::Integer(1), Origin::Env(1))
            .unwrap_err();
        assert_eq!(
            err,
            NotATable {
                path: "a".into(),
                origin: Origin::Env(0)
            }
        );
    }

    #[test]
    fn multi_line_values_keep_one_origin_per_line() {
        let mut tree = Tree::new(Origin::File);
        let value = toml::Value::String("one\ntwo".into());
        tree.set(&path("s"), value, Origin::Env(4)).unwrap();
        let (text, origins) = tree.render();
        assert_eq!(origins.len(), text.lines().count(), "{text}");
        let reparsed: toml::Table = toml::from_str(&text).unwrap();
        assert_eq!(reparsed["s"].as_str(), Some("one\ntwo"));
    }
}
