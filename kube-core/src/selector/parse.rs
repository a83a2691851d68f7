//! The label selector grammar: a lexer and a recursive-descent parser.
//!
//! ```text
//! selector    := "" | requirement ("," requirement)*
//! requirement := "!" KEY | KEY | KEY ("=" | "==" | "!=" | ">" | "<") VALUE? | KEY ("in" | "notin") set
//! set         := "(" VALUE? ("," VALUE?)* ")"      with at least one VALUE or ","
//! ```
//!
//! `KEY` and `VALUE` are runs of characters other than whitespace and `!=(),<>`, then checked
//! with the label key and value rules.

use std::collections::BTreeSet;

use super::ParseError;
use super::label::{LabelSelector, Operator, Requirement};
use super::validate::{check_key, check_value};

/// Words that are operators after a key, so cannot be keys themselves.
pub(crate) const RESERVED_WORDS: [&str; 2] = ["in", "notin"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token<'a> {
    /// A key, a value, or the words `in`/`notin`.
    Word(&'a str),
    Bang,
    Equal,
    DoubleEqual,
    NotEqual,
    Greater,
    Less,
    Open,
    Close,
    Comma,
    End,
}

impl Token<'_> {
    fn describe(self) -> String {
        let symbol = match self {
            Token::Word(word) => return format!("{word:?}"),
            Token::End => return "end of input".to_owned(),
            Token::Bang => "!",
            Token::Equal => "=",
            Token::DoubleEqual => "==",
            Token::NotEqual => "!=",
            Token::Greater => ">",
            Token::Less => "<",
            Token::Open => "(",
            Token::Close => ")",
            Token::Comma => ",",
        };
        format!("'{symbol}'")
    }
}

fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

fn is_symbol(c: char) -> bool {
    matches!(c, '!' | '=' | '(' | ')' | ',' | '<' | '>')
}

/// Splits the input into tokens with their byte offsets; always ends with [`Token::End`].
fn lex(input: &str) -> Vec<(Token<'_>, usize)> {
    let mut tokens = Vec::new();
    let mut rest = input.char_indices().peekable();
    while let Some((start, c)) = rest.next() {
        let token = match c {
            c if is_space(c) => continue,
            '!' if rest.next_if(|&(_, c)| c == '=').is_some() => Token::NotEqual,
            '!' => Token::Bang,
            '=' if rest.next_if(|&(_, c)| c == '=').is_some() => Token::DoubleEqual,
            '=' => Token::Equal,
            '>' => Token::Greater,
            '<' => Token::Less,
            '(' => Token::Open,
            ')' => Token::Close,
            ',' => Token::Comma,
            _ => {
                let mut end = start + c.len_utf8();
                while let Some((i, c)) = rest.next_if(|&(_, c)| !is_space(c) && !is_symbol(c)) {
                    end = i + c.len_utf8();
                }
                Token::Word(&input[start..end])
            }
        };
        tokens.push((token, start));
    }
    tokens.push((Token::End, input.len()));
    tokens
}

struct Parser<'a> {
    input: &'a str,
    tokens: Vec<(Token<'a>, usize)>,
    next: usize,
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Token<'a> {
        self.tokens.get(self.next).map_or(Token::End, |&(token, _)| token)
    }

    fn advance(&mut self) -> Token<'a> {
        let token = self.peek();
        if self.next < self.tokens.len() {
            self.next += 1;
        }
        token
    }

    /// A syntax error about the next token.
    fn unexpected(&self, expected: &'static str) -> ParseError {
        let (token, offset) = self.tokens.get(self.next).copied().unwrap_or((Token::End, self.input.len()));
        ParseError::Syntax {
            input: self.input.to_owned(),
            position: self.input.get(..offset).map_or(0, |before| before.chars().count()),
            found: token.describe(),
            expected,
        }
    }

    fn selector(&mut self) -> Result<LabelSelector, ParseError> {
        let mut selector = LabelSelector::new();
        match self.peek() {
            Token::End => return Ok(selector),
            Token::Word(_) | Token::Bang => {}
            _ => return Err(self.unexpected("a label key, '!' or end of input")),
        }
        loop {
            selector.push(self.requirement()?);
            match self.peek() {
                Token::End => return Ok(selector),
                Token::Comma => {
                    self.advance();
                    if !matches!(self.peek(), Token::Word(_) | Token::Bang) {
                        return Err(self.unexpected("a label key or '!' after ','"));
                    }
                }
                _ => return Err(self.unexpected("',' or end of input")),
            }
        }
    }

    fn requirement(&mut self) -> Result<Requirement, ParseError> {
        if self.peek() == Token::Bang {
            self.advance();
            let key = self.key()?;
            if !matches!(self.peek(), Token::Comma | Token::End) {
                return Err(self.unexpected("',' or end of input ('!key' takes no operator or value)"));
            }
            return Ok(Requirement::new(key, Operator::DoesNotExist));
        }
        let key = self.key()?;
        let operator = match self.peek() {
            Token::Comma | Token::End => Operator::Exists,
            Token::Equal | Token::DoubleEqual => {
                self.advance();
                Operator::Equal(self.exact_value(key)?.to_owned())
            }
            Token::NotEqual => {
                self.advance();
                Operator::NotEqual(self.exact_value(key)?.to_owned())
            }
            Token::Greater => {
                self.advance();
                Operator::GreaterThan(self.integer(key, ">")?)
            }
            Token::Less => {
                self.advance();
                Operator::LessThan(self.integer(key, "<")?)
            }
            Token::Word("in") => {
                self.advance();
                Operator::In(self.set(key, "in")?)
            }
            Token::Word("notin") => {
                self.advance();
                Operator::NotIn(self.set(key, "notin")?)
            }
            _ => {
                return Err(self.unexpected(
                    "an operator ('=', '==', '!=', 'in', 'notin', '>', '<'), ',' or end of input",
                ));
            }
        };
        Ok(Requirement::new(key, operator))
    }

    fn key(&mut self) -> Result<&'a str, ParseError> {
        match self.peek() {
            Token::Word(word) if RESERVED_WORDS.contains(&word) => {
                Err(self.unexpected("a label key ('in' and 'notin' are reserved words)"))
            }
            Token::Word(key) => {
                check_key(key)?;
                self.advance();
                Ok(key)
            }
            _ => Err(self.unexpected("a label key")),
        }
    }

    /// The value after `=`, `==`, `!=`, `>` or `<`: empty if a `,` or the end follows.
    fn exact_value(&mut self, key: &str) -> Result<&'a str, ParseError> {
        match self.peek() {
            Token::Comma | Token::End => Ok(""),
            Token::Word(value) => {
                check_value(key, value)?;
                self.advance();
                Ok(value)
            }
            _ => Err(self.unexpected("a value, ',' or end of input")),
        }
    }

    fn integer(&mut self, key: &str, operator: &str) -> Result<i64, ParseError> {
        let value = self.exact_value(key)?;
        let parsed = if value.bytes().all(|b| b.is_ascii_digit()) { value.parse::<i64>().ok() } else { None };
        parsed.ok_or_else(|| ParseError::InvalidValue {
            key: key.to_owned(),
            value: value.to_owned(),
            reason: format!("operator '{operator}' needs a non-negative 64-bit integer"),
        })
    }

    /// `(a,b,...)`: items may be empty (`(a,)` holds `a` and the empty value), the set may not.
    fn set(&mut self, key: &str, operator: &str) -> Result<BTreeSet<String>, ParseError> {
        if self.peek() != Token::Open {
            return Err(self.unexpected(if operator == "in" {
                "'(' after 'in'"
            } else {
                "'(' after 'notin'"
            }));
        }
        self.advance();
        if self.peek() == Token::Close {
            return Err(ParseError::ValueCount {
                key: key.to_owned(),
                operator: operator.to_owned(),
                expected: "at least one value",
                found: 0,
            });
        }
        let mut values = BTreeSet::new();
        loop {
            match self.peek() {
                Token::Word(value) => {
                    check_value(key, value)?;
                    self.advance();
                    values.insert(value.to_owned());
                }
                Token::Comma | Token::Close => {
                    values.insert(String::new());
                }
                _ => return Err(self.unexpected("a value, ',' or ')'")),
            }
            match self.peek() {
                Token::Comma => {
                    self.advance();
                }
                Token::Close => {
                    self.advance();
                    return Ok(values);
                }
                _ => return Err(self.unexpected("',' or ')'")),
            }
        }
    }
}

/// Parses a label selector string.
pub(crate) fn parse_label_selector(input: &str) -> Result<LabelSelector, ParseError> {
    Parser { input, tokens: lex(input), next: 0 }.selector()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn lexer() {
        let tokens: Vec<_> = lex(" a!=b,!c==d(e)<f>g=h ").into_iter().map(|(t, _)| t).collect();
        use Token::*;
        assert_eq!(
            tokens,
            [
                Word("a"),
                NotEqual,
                Word("b"),
                Comma,
                Bang,
                Word("c"),
                DoubleEqual,
                Word("d"),
                Open,
                Word("e"),
                Close,
                Less,
                Word("f"),
                Greater,
                Word("g"),
                Equal,
                Word("h"),
                End
            ]
        );
        let offsets: Vec<_> = lex("é = x").into_iter().map(|(_, o)| o).collect();
        assert_eq!(offsets, [0, 3, 5, 6]);
    }

    /// Input, then its canonical form.
    #[test]
    fn round_trips() {
        let cases = [
            ("", ""),
            ("   ", ""),
            ("a", "a"),
            ("!a", "!a"),
            (" ! a ", "!a"),
            ("a=b", "a=b"),
            ("a==b", "a=b"),
            ("a = b", "a=b"),
            ("a!=b", "a!=b"),
            ("a !=b", "a!=b"),
            ("a=", "a="),
            ("a==", "a="),
            ("a!=", "a!="),
            ("a=,b", "a=,b"),
            ("a>1", "a>1"),
            ("a < 10", "a<10"),
            ("a>007", "a>7"),
            ("a in (b)", "a in (b)"),
            ("a in(c,b,c)", "a in (b,c)"),
            ("a\tin\n( b , c )", "a in (b,c)"),
            ("a notin (b,c)", "a notin (b,c)"),
            ("a in (b,)", "a in (,b)"),
            ("a in (,b)", "a in (,b)"),
            ("a in (b,,c)", "a in (,b,c)"),
            ("a in (,)", "a in (,)"),
            ("a in (,,)", "a in (,)"),
            ("a in (in, notin)", "a in (in,notin)"),
            ("a=in", "a=in"),
            ("ab/c.d-e_f=G.h-1", "ab/c.d-e_f=G.h-1"),
            (
                "app.kubernetes.io/name=web,tier notin (db,cache),!legacy,team",
                "app.kubernetes.io/name=web,tier notin (cache,db),!legacy,team",
            ),
            ("x=1,x=2", "x=1,x=2"),
            ("inx=1,notinx", "inx=1,notinx"),
        ];
        for (input, canonical) in cases {
            let selector: LabelSelector = input.parse().unwrap_or_else(|e| panic!("{input:?}: {e}"));
            assert_eq!(selector.to_string(), canonical, "{input:?}");
            let again = LabelSelector::parse(canonical).unwrap_or_else(|e| panic!("{canonical:?}: {e}"));
            assert_eq!(again, selector, "{canonical:?}");
            assert_eq!(selector.validate(), Ok(()), "{input:?}");
        }
    }

    #[test]
    fn parsed_structure() {
        let selector = LabelSelector::parse("a in (c,b), !d, e>5, f").unwrap();
        let parts: Vec<_> = selector.into_iter().map(Requirement::into_parts).collect();
        assert_eq!(
            parts,
            [
                ("a".to_owned(), Operator::In(["b".to_owned(), "c".to_owned()].into())),
                ("d".to_owned(), Operator::DoesNotExist),
                ("e".to_owned(), Operator::GreaterThan(5)),
                ("f".to_owned(), Operator::Exists),
            ]
        );
        let empty_in_set = LabelSelector::parse("a in (,)").unwrap();
        assert_eq!(empty_in_set.requirements()[0].operator(), &Operator::In([String::new()].into()));
    }

    fn syntax(input: &str) -> (usize, String, &'static str) {
        match LabelSelector::parse(input) {
            Err(ParseError::Syntax { input: i, position, found, expected }) => {
                assert_eq!(i, input);
                (position, found, expected)
            }
            other => panic!("{input:?}: expected a syntax error, got {other:?}"),
        }
    }

    #[test]
    fn syntax_errors() {
        let cases = [
            (",", 0, "','", "a label key, '!' or end of input"),
            ("=a", 0, "'='", "a label key, '!' or end of input"),
            ("(a)", 0, "'('", "a label key, '!' or end of input"),
            ("a,", 2, "end of input", "a label key or '!' after ','"),
            ("a,,b", 2, "','", "a label key or '!' after ','"),
            ("a=b,", 4, "end of input", "a label key or '!' after ','"),
            ("a=b=c", 3, "'='", "',' or end of input"),
            ("a=b c", 4, "\"c\"", "',' or end of input"),
            (
                "a b",
                2,
                "\"b\"",
                "an operator ('=', '==', '!=', 'in', 'notin', '>', '<'), ',' or end of input",
            ),
            (
                "a (b)",
                2,
                "'('",
                "an operator ('=', '==', '!=', 'in', 'notin', '>', '<'), ',' or end of input",
            ),
            ("a!b", 1, "'!'", "an operator ('=', '==', '!=', 'in', 'notin', '>', '<'), ',' or end of input"),
            ("a in b", 5, "\"b\"", "'(' after 'in'"),
            ("a notin b", 8, "\"b\"", "'(' after 'notin'"),
            ("a in", 4, "end of input", "'(' after 'in'"),
            ("a in (b", 7, "end of input", "',' or ')'"),
            ("a in (b,", 8, "end of input", "a value, ',' or ')'"),
            ("a in (b c)", 8, "\"c\"", "',' or ')'"),
            ("a in (b=c)", 7, "'='", "',' or ')'"),
            ("a in ((b))", 6, "'('", "a value, ',' or ')'"),
            ("a in (b))", 8, "')'", "',' or end of input"),
            ("a in (b) c", 9, "\"c\"", "',' or end of input"),
            ("!a=b", 2, "'='", "',' or end of input ('!key' takes no operator or value)"),
            ("!a in (b)", 3, "\"in\"", "',' or end of input ('!key' takes no operator or value)"),
            ("!", 1, "end of input", "a label key"),
            ("!!a", 1, "'!'", "a label key"),
            ("!=a", 0, "'!='", "a label key, '!' or end of input"),
            ("a=(b)", 2, "'('", "a value, ',' or end of input"),
            ("a=!b", 2, "'!'", "a value, ',' or end of input"),
            ("a!==b", 3, "'='", "a value, ',' or end of input"),
            ("in=b", 0, "\"in\"", "a label key ('in' and 'notin' are reserved words)"),
            ("!notin", 1, "\"notin\"", "a label key ('in' and 'notin' are reserved words)"),
            ("a=b é", 4, "\"é\"", "',' or end of input"),
        ];
        for (input, position, found, expected) in cases {
            assert_eq!(syntax(input), (position, found.to_owned(), expected), "{input:?}");
        }
        assert_eq!(
            LabelSelector::parse("a=b=c").unwrap_err().to_string(),
            r#"invalid selector "a=b=c": found '=' at position 3, expected ',' or end of input"#
        );
    }

    #[test]
    fn validation_errors() {
        let long = "x".repeat(64);
        let cases = [
            ("a@b=c".to_owned(), "invalid label key \"a@b\": character '@' at index 1 is not allowed"),
            ("a=b@c".to_owned(), "invalid value \"b@c\" for label key \"a\": character '@' at index 1"),
            ("a in (b, c;d)".to_owned(), "invalid value \"c;d\" for label key \"a\": character ';'"),
            ("é".to_owned(), "invalid label key \"é\": character 'é' at index 0"),
            ("-a".to_owned(), "invalid label key \"-a\": the name part must start and end"),
            (format!("{long}=a"), "invalid label key \"xxxx"),
            (format!("a={long}"), "invalid value \"xxxx"),
            ("a/b/c".to_owned(), "invalid label key \"a/b/c\": a label key may contain at most one '/'"),
            (
                "A.com/b".to_owned(),
                "invalid label key \"A.com/b\": character 'A' at index 0 is not allowed in the prefix",
            ),
            (
                "a>b".to_owned(),
                "invalid value \"b\" for label key \"a\": operator '>' needs a non-negative 64-bit integer",
            ),
            (
                "a<".to_owned(),
                "invalid value \"\" for label key \"a\": operator '<' needs a non-negative 64-bit integer",
            ),
            (
                "a>1.5".to_owned(),
                "invalid value \"1.5\" for label key \"a\": operator '>' needs a non-negative",
            ),
            ("a<-1".to_owned(), "invalid value \"-1\" for label key \"a\": a value must start and end"),
            (
                "a>99999999999999999999".to_owned(),
                "invalid value \"99999999999999999999\" for label key \"a\": operator '>'",
            ),
            ("a in ()".to_owned(), "operator in on label key \"a\" needs at least one value, got 0"),
            ("a notin ( )".to_owned(), "operator notin on label key \"a\" needs at least one value, got 0"),
        ];
        for (input, want) in cases {
            let err = LabelSelector::parse(&input).unwrap_err().to_string();
            assert!(err.starts_with(want), "{input:?}: {err}");
        }
        assert!(matches!(
            LabelSelector::parse(&format!("{long}=a")),
            Err(ParseError::InvalidKey { reason, .. }) if reason == "the name part must be at most 63 characters, got 64"
        ));
        assert!(matches!(
            LabelSelector::parse("a in ()"),
            Err(ParseError::ValueCount { key, operator, found: 0, .. }) if key == "a" && operator == "in"
        ));
    }
}
