//! Tab completion for bash, zsh, fish, elvish and PowerShell.
//!
//! The script each shell loads (`iamdb completions SHELL`, committed under shell/completions)
//! is a stub: at each Tab it runs `iamdb` again with `_IAMDB_COMPLETE=SHELL` and the words
//! typed so far, and iamdb answers from the same clap definitions as `--help`. Values only
//! known at run time are filled in here: the profiles of the config file (only those of the
//! engine a command is for: `iamdb psql <Tab>` offers PostgreSQL profiles) and the AWS
//! profiles of ~/.aws/config and ~/.aws/credentials. Answering costs what a cache hit costs,
//! a few milliseconds, and checking whether to answer costs one getenv on every run.
//!
//! The config file is the one `IAMDB_CONFIG` names, else the default; a `--config` flag on
//! the command line being completed is not seen by the completers.

use std::ffi::OsStr;

use clap::CommandFactory;
use clap_complete::engine::{ArgValueCompleter, CompletionCandidate};
use clap_complete::env::{CompleteEnv, Shells};

use crate::cli::{Cli, CompletionShell};
use iamdb_core::config::{Config, Settings};
use iamdb_core::engine::Family;
use iamdb_core::error::{Error, Result};

/// The environment variable the scripts set when they call iamdb back. Not clap's default
/// `COMPLETE`, which other programs read too.
const VAR: &str = iamdb_core::env::COMPLETE;

/// The program the scripts call back: `iamdb` on PATH, the command being completed.
const BIN: &str = "iamdb";

/// Answers the completion script that called iamdb back, and exits.
pub fn answer() {
    CompleteEnv::with_factory(command)
        .var(VAR)
        .bin(BIN)
        .completer(BIN)
        .complete();
}

/// iamdb's clap command with the completers of the values only known at run time: profile
/// names (of the engines a command is for) and AWS profile names. Attached here, by argument,
/// so that the command line's declarations know nothing of completion.
pub fn command() -> clap::Command {
    fn with(c: clap::Command, arg: &str, completer: ArgValueCompleter) -> clap::Command {
        c.mut_arg(arg, |a| a.add(completer))
    }
    fn sub(
        c: clap::Command,
        name: &str,
        f: impl FnOnce(clap::Command) -> clap::Command,
    ) -> clap::Command {
        c.mut_subcommand(name, f)
    }
    let any = || ArgValueCompleter::new(|c: &OsStr| profiles(c, None));
    let pg = || ArgValueCompleter::new(|c: &OsStr| profiles(c, Some(Family::Postgres)));
    let my = || ArgValueCompleter::new(|c: &OsStr| profiles(c, Some(Family::Mysql)));
    let redis = || ArgValueCompleter::new(|c: &OsStr| profiles(c, Some(Family::Redis)));
    let aws = || ArgValueCompleter::new(aws_profiles);
    let mut cmd = Cli::command();
    cmd = sub(cmd, "token", |c| {
        with(with(c, "profile", any()), "aws_profile", aws())
    });
    for name in ["doctor", "setup", "exec"] {
        cmd = sub(cmd, name, |c| with(c, "profile", any()));
    }
    cmd = sub(cmd, "login", |c| {
        with(with(c, "profile", any()), "aws_profile", aws())
    });
    cmd = sub(cmd, "profile", |c| {
        let c = sub(c, "show", |s| with(s, "name", any()));
        let c = sub(c, "remove", |s| with(s, "name", any()));
        sub(c, "add", |s| with(s, "aws_profile", aws()))
    });
    cmd = sub(cmd, "cache", |c| {
        sub(c, "clear", |s| with(s, "profile", any()))
    });
    cmd = sub(cmd, "psql", |c| with(c, "profile", pg()));
    cmd = sub(cmd, "pgadmin", |c| with(c, "profiles", pg()));
    cmd = sub(cmd, "valkey", |c| with(c, "profile", redis()));
    for name in ["pgpass", "pgservice"] {
        cmd = sub(cmd, name, |c| sub(c, "sync", |s| with(s, "profiles", pg())));
    }
    for name in ["mysql", "mariadb"] {
        cmd = sub(cmd, name, |c| with(c, "profile", my()));
    }
    sub(cmd, "mycnf", |c| {
        let c = with(c, "profile", my());
        sub(c, "sync", |s| with(s, "profiles", my()))
    })
}

/// The script that registers iamdb's completion in `shell`.
pub fn script(shell: CompletionShell) -> Result<String> {
    let name = clap::ValueEnum::to_possible_value(&shell)
        .map(|v| v.get_name().to_owned())
        .ok_or_else(|| Error::internal("a completion shell without a name"))?;
    let name = name.as_str();
    let shells = Shells::builtins();
    let completer = shells
        .completer(name)
        .ok_or_else(|| Error::internal(format!("no completion for {name}")))?;
    let mut buf = Vec::new();
    completer
        .write_registration(VAR, BIN, BIN, BIN, &mut buf)
        .map_err(|e| Error::internal(format!("writing the {name} completion: {e}")))?;
    let body = String::from_utf8(buf)
        .map_err(|e| Error::internal(format!("the {name} completion is not UTF-8: {e}")))?;
    Ok(match shell {
        // bash-completion loads this file lazily; shellcheck checks it like every script
        // in shell/. `COMPREPLY=( $(...) )` splits on the IFS the function sets on purpose.
        CompletionShell::Bash => format!(
            "# bash completion for iamdb. Generated by `iamdb completions bash`.\n\
             # shellcheck shell=bash disable=SC2207,SC2181\n{}",
            body.trim_start()
        ),
        // From $fpath, zsh runs this file as the function `_iamdb` at the first Tab: it must
        // then complete, not only register (`compdef` alone would leave that Tab empty).
        // With `source <(iamdb completions zsh)` it registers.
        CompletionShell::Zsh => {
            let register = "compdef _clap_dynamic_completer_iamdb iamdb";
            let body = body.trim_end().strip_suffix(register).ok_or_else(|| {
                Error::internal("the zsh completion no longer ends in its compdef line")
            })?;
            format!(
                "{body}if [ \"${{funcstack[1]}}\" = \"_iamdb\" ]; then\n    \
                 _clap_dynamic_completer_iamdb \"$@\"\nelse\n    {register}\nfi\n"
            )
        }
        _ => format!("{}\n", body.trim()),
    })
}

/// AWS profile names starting with `current`, for `--aws-profile`.
fn aws_profiles(current: &OsStr) -> Vec<CompletionCandidate> {
    let prefix = current.to_string_lossy();
    aws_profile_names()
        .into_iter()
        .filter(|n| n.starts_with(prefix.as_ref()))
        .map(CompletionCandidate::new)
        .collect()
}

/// The config file's profiles starting with `current`, of one family or all, each with its
/// endpoint as help. A profile whose family cannot be told (no engine, an unusual port) is
/// offered everywhere. A broken config file offers nothing rather than an error in the middle
/// of a command line.
fn profiles(current: &OsStr, family: Option<Family>) -> Vec<CompletionCandidate> {
    let prefix = current.to_string_lossy();
    // clap reads IAMDB_CONFIG for --config when it parses; completers get no parse.
    let explicit = iamdb_core::env::get().config;
    let Ok(config) = Config::load(explicit.as_deref()) else {
        return Vec::new();
    };
    config
        .profiles
        .keys()
        .filter(|name| name.starts_with(prefix.as_ref()))
        .filter_map(|name| {
            let resolved = config.resolve(Some(name), Settings::default()).ok();
            if let (Some(want), Some(is)) = (family, config.family_of(name))
                && want != is
            {
                return None;
            }
            let help = resolved.map(|p| {
                let engine = p.engine.map(|e| e.as_str()).unwrap_or("");
                format!("{engine} {}@{}:{}", p.user, p.host, p.port)
                    .trim()
                    .to_string()
            });
            Some(CompletionCandidate::new(name).help(help.map(Into::into)))
        })
        .collect()
}

/// Profile names of the shared AWS files: `[default]` and `[profile NAME]` in the config file,
/// `[NAME]` in the credentials file; sorted, each once.
pub fn aws_profile_names() -> Vec<String> {
    let mut names = std::collections::BTreeSet::new();
    let files = [
        (iamdb_core::credentials::config_file(), true),
        (iamdb_core::credentials::credentials_file(), false),
    ];
    for (file, is_config) in files {
        let Some(text) =
            file.and_then(|f| iamdb_core::fsutil::read_text(&f, 1 << 20).ok().flatten())
        else {
            continue;
        };
        names.extend(section_names(&text, is_config));
    }
    names.into_iter().collect()
}

fn section_names(text: &str, is_config: bool) -> Vec<String> {
    text.lines()
        .filter_map(|line| {
            let inner = line.trim().strip_prefix('[')?.strip_suffix(']')?.trim();
            let name = if !is_config {
                inner
            } else if inner == "default" {
                "default"
            } else {
                // `[sso-session X]` and `[services X]` are not profiles.
                inner
                    .strip_prefix("profile")?
                    .strip_prefix([' ', '\t'])?
                    .trim()
            };
            (!name.is_empty()).then(|| name.to_string())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_is_consistent() {
        command().debug_assert();
    }

    #[test]
    fn aws_sections_are_profiles_only() {
        let config = "[default]\nregion=x\n[profile dev]\n[ profile  ops ]\n[sso-session corp]\n\
                      [services s3]\n[profilex]\n# [profile commented]\n";
        assert_eq!(section_names(config, true), ["default", "dev", "ops"]);
        assert_eq!(
            section_names("[default]\n[ci]\naws_access_key_id=A\n", false),
            ["default", "ci"]
        );
    }
}
