//! `iamdb shell-init`: one shell function per profile (`psql-PROFILE`, `mysql-PROFILE`,
//! `mariadb-PROFILE`, `valkey-PROFILE`), rendered from the templates in `shell/init/`. Profile names can only
//! hold letters, digits, '-', '_' and '.', so they are safe to paste into shell code.

use crate::config::{Config, check_profile_name};
use crate::engine::Family;
use crate::error::{Error, Result};

/// The shells `shell-init` writes functions for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
}

impl Shell {
    pub fn name(self) -> &'static str {
        match self {
            Shell::Bash => "bash",
            Shell::Zsh => "zsh",
            Shell::Fish => "fish",
        }
    }

    fn template(self) -> &'static str {
        match self {
            Shell::Bash => include_str!("../../../shell/init/bash.sh"),
            Shell::Zsh => include_str!("../../../shell/init/zsh.zsh"),
            Shell::Fish => include_str!("../../../shell/init/fish.fish"),
        }
    }
}

/// The functions for every profile whose family is known (see [`Config::family_of`]).
pub fn init(config: &Config, shell: Shell) -> Result<String> {
    // No config path in the comment: a path may hold a newline, which would end the comment.
    let mut out = format!(
        "# iamdb shell-init {}: a command per profile\n",
        shell.name()
    );
    for name in config.profiles.keys() {
        check_profile_name(name).map_err(Error::config)?;
        let client = match (config.engine_of(name), config.family_of(name)) {
            (Some(engine), _) => engine.client(),
            (None, Some(Family::Postgres)) => "psql",
            (None, Some(Family::Mysql)) => "mysql",
            (None, Some(Family::Redis)) => "valkey",
            (None, None) => continue,
        };
        out.push_str(
            &shell
                .template()
                .replace("CLIENT", client)
                .replace("PROFILE", name),
        );
    }
    Ok(out)
}
