//! Enums whose values have names, written the same way in the config file, on the command
//! line and in completions: an engine, a cache store, a client flavour.

/// A closed set of named values. The command line builds its choices (with their help) from
/// [`Named::ALL`]; the config file and environment variables parse with [`Named::from_name`].
pub trait Named: Sized + Copy + PartialEq + 'static {
    const ALL: &'static [Self];

    /// The name as written.
    fn name(self) -> &'static str;

    /// Other names accepted for it.
    fn aliases(self) -> &'static [&'static str] {
        &[]
    }

    /// One line of help, for `--help` and completions.
    fn help(self) -> &'static str;

    /// The value named `s` (any letter case), if any.
    fn from_name(s: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|v| {
            v.name().eq_ignore_ascii_case(s)
                || v.aliases().iter().any(|a| a.eq_ignore_ascii_case(s))
        })
    }

    /// `a, b or c`, for messages.
    fn choices() -> String {
        let names: Vec<&str> = Self::ALL.iter().map(|v| v.name()).collect();
        match names.split_last() {
            Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
            _ => names.join(""),
        }
    }
}
