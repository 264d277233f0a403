//! The rule for a new password (SPEC "People, passwords,
//! re-authentication"): 15 to 256 characters (NIST SP 800-63B-4 for a
//! password used alone), not the email, not one character repeated, not a
//! straight run of a keyboard row or of digits, and not one of 100,000
//! common or breached passwords.
//!
//! The list (`data/common-passwords-100k.txt`, about 780 KB) is compiled
//! in only with the `common-passwords` feature, which the server turns on;
//! the console runs the same function as the person types, without it, and
//! the server has the last word.

use crate::{FieldError, FieldErrorCode};

/// Fewest characters a new password may have.
pub const MIN_CHARS: usize = 15;
/// Most characters a new password may have.
pub const MAX_CHARS: usize = 256;
/// The field every error names.
pub const FIELD: &str = "new_password";

/// Whether this build checks the list of common passwords.
pub const CHECKS_COMMON_LIST: bool = cfg!(feature = "common-passwords");

/// Runs of these (either way, wrapping round) are refused: the digits and
/// their shifted row, and each letter row of a US keyboard alone and one
/// after another.
const RUNS: [&str; 7] = [
    "0123456789",
    "!@#$%^&*()",
    "qwertyuiop",
    "asdfghjkl",
    "zxcvbnm",
    "qwertyuiopasdfghjklzxcvbnm",
    "abcdefghijklmnopqrstuvwxyz",
];

/// Every way `password` breaks the rule for the person with `email`; empty
/// when it may be used.
pub fn validate_new_password(password: &str, email: &str) -> Vec<FieldError> {
    let mut out = Vec::new();
    let chars = password.chars().count();
    if chars < MIN_CHARS {
        out.push(FieldError::new(
            FIELD,
            FieldErrorCode::TooSmall,
            format!("Use at least {MIN_CHARS} characters (a few words make a good one)."),
        ));
    }
    if chars > MAX_CHARS {
        out.push(FieldError::new(
            FIELD,
            FieldErrorCode::TooLarge,
            format!("Use at most {MAX_CHARS} characters."),
        ));
    }
    if chars == 0 {
        return out;
    }
    let lower = password.to_lowercase();
    if lower.trim() == email.trim().to_lowercase() {
        out.push(FieldError::new(
            FIELD,
            FieldErrorCode::Invalid,
            "Your email address is not a password.",
        ));
    }
    if one_character(password) {
        out.push(FieldError::new(
            FIELD,
            FieldErrorCode::Invalid,
            "One character repeated is too easy to guess.",
        ));
    } else if straight_run(&lower) {
        out.push(FieldError::new(
            FIELD,
            FieldErrorCode::Invalid,
            "A run of keys along the keyboard or of digits is too easy to guess.",
        ));
    }
    if is_common(password) {
        out.push(FieldError::new(
            FIELD,
            FieldErrorCode::Invalid,
            "This password is in a list of common and breached passwords; choose another.",
        ));
    }
    out
}

fn one_character(password: &str) -> bool {
    let mut chars = password.chars();
    chars.next().is_some_and(|first| chars.all(|c| c == first))
}

/// Each character follows the one before along one of [`RUNS`], always in
/// the same direction.
fn straight_run(lower: &str) -> bool {
    let chars: Vec<char> = lower.chars().collect();
    if chars.len() < 2 {
        return false;
    }
    RUNS.iter().any(|run| {
        let keys: Vec<char> = run.chars().collect();
        let at = |c: char| keys.iter().position(|k| *k == c);
        let n = keys.len();
        [1, n - 1].into_iter().any(|step| {
            chars.windows(2).all(|w| match (at(w[0]), at(w[1])) {
                (Some(a), Some(b)) => (a + step) % n == b,
                _ => false,
            })
        })
    })
}

#[cfg(feature = "common-passwords")]
fn is_common(password: &str) -> bool {
    use std::collections::HashSet;
    use std::sync::OnceLock;
    static LIST: OnceLock<HashSet<&'static str>> = OnceLock::new();
    let list = LIST.get_or_init(|| {
        include_str!("../data/common-passwords-100k.txt")
            .lines()
            .map(str::trim_end)
            .filter(|l| !l.is_empty())
            .collect()
    });
    list.contains(password) || list.contains(password.to_lowercase().as_str())
}

#[cfg(not(feature = "common-passwords"))]
fn is_common(_password: &str) -> bool {
    false
}

/// How many passwords the compiled-in list holds (0 without the feature).
pub fn common_list_len() -> usize {
    #[cfg(feature = "common-passwords")]
    {
        include_str!("../data/common-passwords-100k.txt")
            .lines()
            .filter(|l| !l.trim_end().is_empty())
            .count()
    }
    #[cfg(not(feature = "common-passwords"))]
    {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EMAIL: &str = "agent1@demo.test";

    fn codes(password: &str) -> Vec<(FieldErrorCode, String)> {
        validate_new_password(password, EMAIL)
            .into_iter()
            .map(|e| {
                assert_eq!(e.path, FIELD);
                (e.code, e.message)
            })
            .collect()
    }

    #[test]
    fn each_rule_refuses_with_its_reason() {
        let cases: [(&str, &str, FieldErrorCode, &str); 9] = [
            (
                "too short",
                "fourteen chars",
                FieldErrorCode::TooSmall,
                "at least 15",
            ),
            (
                "too long",
                &"ab".repeat(129),
                FieldErrorCode::TooLarge,
                "at most 256",
            ),
            (
                "the email",
                "Agent1@Demo.test",
                FieldErrorCode::Invalid,
                "email",
            ),
            (
                "one character",
                "aaaaaaaaaaaaaaaa",
                FieldErrorCode::Invalid,
                "One character",
            ),
            (
                "digits",
                "123456789012345",
                FieldErrorCode::Invalid,
                "run of keys",
            ),
            (
                "digits down",
                "987654321098765",
                FieldErrorCode::Invalid,
                "run of keys",
            ),
            (
                "a row on",
                "qwertyuiopasdfghjkl",
                FieldErrorCode::Invalid,
                "run of keys",
            ),
            (
                "a row round",
                "asdfghjklasdfghjkl",
                FieldErrorCode::Invalid,
                "run of keys",
            ),
            (
                "the alphabet",
                "abcdefghijklmnop",
                FieldErrorCode::Invalid,
                "run of keys",
            ),
        ];
        for (case, password, code, words) in cases {
            let found = codes(password);
            assert!(
                found.iter().any(|(c, m)| *c == code && m.contains(words)),
                "{case}: {found:?}"
            );
        }
    }

    #[test]
    fn good_passwords_pass() {
        for good in [
            "correct horse battery staple",
            "tangerine-otter-lamp",
            "Ünïcödé passwörds are fine",
            &"x1".repeat(128),
        ] {
            assert_eq!(codes(good), vec![], "{good}");
        }
    }

    #[test]
    fn length_counts_characters_not_bytes() {
        // 15 characters, 30 bytes.
        assert!(codes("ééééééééééééééà").is_empty());
        assert!(!codes("éééééééééééééé").is_empty());
    }

    #[cfg(feature = "common-passwords")]
    #[test]
    fn the_list_holds_100000_and_refuses_its_long_ones() {
        assert_eq!(common_list_len(), 100_000);
        let found = codes("passwordpassword");
        assert!(found.iter().any(|(_, m)| m.contains("common")), "{found:?}");
        assert!(is_common("PASSWORD"));
    }

    proptest::proptest! {
        #[test]
        fn any_password_of_one_repeated_character_is_refused(c in proptest::char::any(), n in 15usize..40) {
            let p: String = std::iter::repeat_n(c, n).collect();
            proptest::prop_assert!(!validate_new_password(&p, EMAIL).is_empty());
        }

        #[test]
        fn shorter_than_15_is_always_refused(p in ".{0,14}") {
            proptest::prop_assert!(validate_new_password(&p, EMAIL)
                .iter()
                .any(|e| e.code == FieldErrorCode::TooSmall));
        }
    }
}
