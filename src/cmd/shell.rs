//! `iamdb shell-init`: one function per profile, rendered from the templates in `shell/init/`.
//! Profile names can only hold letters, digits, '-', '_' and '.', so they are safe to paste
//! into shell code as they are.

use std::path::Path;

use crate::cli::InitShell;
use iamdb_core::config::{Config, Engine, check_profile_name};
use iamdb_core::error::{Error, Result};

fn template(shell: InitShell) -> &'static str {
    match shell {
        InitShell::Bash => include_str!("../../shell/init/bash.sh"),
        InitShell::Zsh => include_str!("../../shell/init/zsh.zsh"),
        InitShell::Fish => include_str!("../../shell/init/fish.fish"),
    }
}

pub fn init(config_path: Option<&Path>, shell: InitShell) -> Result<()> {
    let config = Config::load(config_path)?;
    let name = match shell {
        InitShell::Bash => "bash",
        InitShell::Zsh => "zsh",
        InitShell::Fish => "fish",
    };
    // No config path in the comment: a path may hold a newline, which would end the comment.
    let mut out = format!("# iamdb shell-init {name}: a command per profile\n");
    for (name, settings) in &config.profiles {
        check_profile_name(name).map_err(Error::config)?;
        let client = match settings.engine.or(config.defaults.engine) {
            Some(Engine::Postgres) => "psql",
            Some(Engine::Mysql) => "mysql",
            Some(Engine::Mariadb) => "mariadb",
            None => continue,
        };
        out.push_str(
            &template(shell)
                .replace("CLIENT", client)
                .replace("PROFILE", name),
        );
    }
    super::print(&out)
}
