//! Checked values from the outside world. Once parsed, the rest of the code
//! trusts them.

/// A lower-cased, trimmed email address of plausible shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    /// Parses an email address; the message says what is wrong.
    pub fn parse(s: &str) -> Result<Email, String> {
        let s = s.trim().to_lowercase();
        if s.is_empty() {
            return Err("Enter an email address.".into());
        }
        if s.len() > 254 {
            return Err("The email address is longer than 254 characters.".into());
        }
        match s.split_once('@') {
            Some((local, domain))
                if !local.is_empty()
                    && !domain.is_empty()
                    && !domain.contains('@')
                    && !s.chars().any(|c| c.is_whitespace() || c.is_control()) =>
            {
                Ok(Email(s))
            }
            _ => Err(format!("{s:?} is not an email address.")),
        }
    }

    /// The address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An account's URL name: 2 to 40 lowercase letters, digits and inner dashes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slug(String);

impl Slug {
    /// Parses a slug (case-insensitively); the message says what is wrong.
    pub fn parse(s: &str) -> Result<Slug, String> {
        let s = s.trim().to_lowercase();
        let ok_chars = s
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if (2..=40).contains(&s.len()) && ok_chars && !s.starts_with('-') && !s.ends_with('-') {
            Ok(Slug(s))
        } else {
            Err(format!(
                "{s:?} is not an account name: use 2 to 40 lowercase letters, digits and dashes."
            ))
        }
    }

    /// The slug.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Longest password accepted, in bytes; checked before any hashing so a huge
/// password cannot tie up the hashing pool.
pub const MAX_PASSWORD_BYTES: usize = 1024;
/// Shortest password accepted when one is set.
pub const MIN_PASSWORD_CHARS: usize = 8;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(
            Email::parse(" Agent1@Demo.Test ").unwrap().as_str(),
            "agent1@demo.test"
        );
        for bad in ["", "no-at", "@x", "x@", "a@b@c", "a b@c", &"a".repeat(300)] {
            assert!(Email::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn slugs_are_checked() {
        assert_eq!(Slug::parse("Demo").unwrap().as_str(), "demo");
        for bad in ["", "a", "-ab", "ab-", "a_b", "a b", &"a".repeat(41)] {
            assert!(Slug::parse(bad).is_err(), "{bad:?}");
        }
    }
}
