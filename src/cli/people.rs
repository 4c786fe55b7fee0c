//! `replaydesk user add|list|set-role|disable|reset-password` and `replaydesk token
//! create|list|revoke`: the console's people and their API tokens, managed on the server
//! over the store itself (no running `serve` needed; several nodes on PostgreSQL see the
//! change at once). A setup code or a token is printed once, alone on the last line, for
//! a script to take; nothing else prints a secret.
//!
//! Run as root on an SQLite store owned by the service's user, the files it opens or
//! creates (the database, its `-wal` and `-shm`) are given back to that owner, owner-only,
//! as `replaydesk backup` does: root's run must not leave the service a store it cannot
//! open.

use replaydesk::service::api::Role;
use replaydesk::service::config::{Config, Flags};
use replaydesk::service::people::{
    AddUser, CreateToken, People, SetRole, TokenInfo, TokensQuery, UserInfo,
};
use replaydesk::service::{Actor, Door, ServiceError};
use replaydesk::store::{db_for_display, Engine, Store};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Where the store is: the same `--config` and `--db` as `serve` (and its variables).
#[derive(Debug, Clone, clap::Args)]
pub struct StoreFlags {
    /// TOML configuration file (default: replaydesk.toml if present).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// SQLite database file, or a `postgres://` URL (beats REPLAYDESK_DB and the file).
    #[arg(long)]
    pub db: Option<PathBuf>,
}

#[derive(Debug, clap::Subcommand)]
pub enum UserCommand {
    /// Add a person with a role (admin, support, viewer); prints a one-time setup code
    /// (last line) that they exchange for a password in the console.
    Add {
        name: String,
        #[arg(long)]
        role: String,
        #[command(flatten)]
        store: StoreFlags,
    },
    /// List the people, their roles and states.
    List {
        #[command(flatten)]
        store: StoreFlags,
    },
    /// Give a person another role.
    SetRole {
        name: String,
        role: String,
        #[command(flatten)]
        store: StoreFlags,
    },
    /// Disable a person: no sign-in, sessions ended, tokens refused.
    Disable {
        name: String,
        #[command(flatten)]
        store: StoreFlags,
    },
    /// End a person's password and sessions; prints a new one-time setup code (last line).
    ResetPassword {
        name: String,
        #[command(flatten)]
        store: StoreFlags,
    },
}

#[derive(Debug, clap::Subcommand)]
pub enum TokenCommand {
    /// Make an API token for a person; prints it once (last line).
    Create {
        /// The person it acts for.
        #[arg(long)]
        user: String,
        /// A name for it (what the audit log shows beside the person's).
        #[arg(long)]
        name: String,
        /// Its role (default: the person's; never above it).
        #[arg(long)]
        role: Option<String>,
        /// When it expires, from now: a duration such as 30d or 12h (default: never).
        #[arg(long)]
        expires: Option<String>,
        #[command(flatten)]
        store: StoreFlags,
    },
    /// List API tokens (never the tokens themselves).
    List {
        /// Only this person's.
        #[arg(long)]
        user: Option<String>,
        #[command(flatten)]
        store: StoreFlags,
    },
    /// Revoke an API token by its id.
    Revoke {
        id: i64,
        #[command(flatten)]
        store: StoreFlags,
    },
}

/// Who the audit log names for the command line: the operating-system user who ran it.
fn cli_actor() -> Actor {
    let os_user = ["SUDO_USER", "USER", "LOGNAME"]
        .iter()
        .filter_map(|v| std::env::var(v).ok())
        .find(|u| replaydesk::service::people::check_name("user", u).is_ok());
    Actor::new(os_user.unwrap_or_else(|| "cli".into()), Door::Cli)
}

fn role(text: &str) -> Result<Role, String> {
    Role::parse(text).ok_or_else(|| format!("role: {text:?} is not one of admin, support, viewer"))
}

fn db_of(flags: &StoreFlags) -> Result<PathBuf, String> {
    let config = Config::load(&Flags {
        config: flags.config.clone(),
        listen: None,
        db: flags.db.clone(),
    })
    .map_err(|e| e.to_string())?;
    Ok(config.db)
}

/// The owner an SQLite store's files must keep: the database's, or for a new one its
/// directory's. `None` for PostgreSQL.
fn owner_reference(db: &Path) -> Option<PathBuf> {
    if Engine::of(&db.to_string_lossy()) == Engine::Postgres {
        return None;
    }
    if db.exists() {
        return Some(db.to_owned());
    }
    let dir = db.parent().filter(|d| !d.as_os_str().is_empty());
    Some(dir.map_or_else(|| PathBuf::from("."), Path::to_owned))
}

/// Gives the store's files back to the owner of `like` (only root can change anything).
fn keep_owner(db: &Path, like: &Path) -> Result<(), String> {
    use replaydesk::store::backup::{own_like, with_suffix};
    for f in [
        db.to_owned(),
        with_suffix(db, "-wal"),
        with_suffix(db, "-shm"),
    ] {
        if f.exists() {
            own_like(&f, like).map_err(|e| format!("{}: {e}", f.display()))?;
        }
    }
    Ok(())
}

/// Opens the store, runs `f` on it, closes it, keeps its files' owner.
fn with_people<T>(
    what: &str,
    flags: &StoreFlags,
    f: impl AsyncFnOnce(People<'_>) -> Result<T, ServiceError>,
) -> Result<T, String> {
    let db = db_of(flags)?;
    let like = owner_reference(&db);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    let result = rt.block_on(async {
        let store = Store::open(&db)
            .await
            .map_err(|e| format!("{}: {e}", db_for_display(&db)))?;
        let r = f(People::new(&store)).await.map_err(|e| e.to_string());
        store.close().await;
        r
    });
    if let Some(like) = like {
        keep_owner(&db, &like).map_err(|e| format!("replaydesk {what}: {e}"))?;
    }
    result
}

fn time(ms: Option<i64>) -> String {
    match ms {
        None => "-".into(),
        Some(ms) => humantime::format_rfc3339_seconds(
            std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms.max(0) as u64),
        )
        .to_string(),
    }
}

fn describe_user(u: &UserInfo) -> String {
    let state = if u.disabled_at.is_some() {
        "disabled".to_owned()
    } else if u.password_set {
        "active".to_owned()
    } else {
        format!(
            "awaiting setup (code valid until {})",
            time(u.setup_code_expires_at)
        )
    };
    format!("{}\t{}\t{state}", u.name, u.role.as_str())
}

fn describe_token(t: &TokenInfo) -> String {
    let state = if t.revoked_at.is_some() {
        format!("revoked {}", time(t.revoked_at))
    } else {
        format!(
            "expires {}",
            t.expires_at.map_or("never".into(), |e| time(Some(e)))
        )
    };
    format!(
        "{}\t{}\t{}\t{}\t{state}\tlast used {}",
        t.id,
        t.user,
        t.name,
        t.role.as_str(),
        time(t.last_used_at)
    )
}

fn done(what: &str, r: Result<(), String>) -> ExitCode {
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("replaydesk {what}: {e}");
            ExitCode::FAILURE
        }
    }
}

pub fn run_user(cmd: UserCommand) -> ExitCode {
    let actor = cli_actor();
    match cmd {
        UserCommand::Add { name, role: r, store } => done(
            "user add",
            role(&r).and_then(|role| {
                let out = with_people("user add", &store, async |p| {
                    p.add_user(AddUser { name, role }, &actor).await
                })?;
                println!("added: {}", describe_user(&out.user));
                println!("give them this one-time setup code (it sets their password at the console's sign-in page, \"Set your password\"):");
                println!("{}", out.setup_code);
                Ok(())
            }),
        ),
        UserCommand::List { store } => done(
            "user list",
            with_people("user list", &store, async |p| p.list_users().await).map(|users| {
                for u in &users {
                    println!("{}", describe_user(u));
                }
            }),
        ),
        UserCommand::SetRole { name, role: r, store } => done(
            "user set-role",
            role(&r).and_then(|role| {
                let u = with_people("user set-role", &store, async |p| {
                    p.set_user_role(&name, SetRole { role }, &actor).await
                })?;
                println!("{}", describe_user(&u));
                Ok(())
            }),
        ),
        UserCommand::Disable { name, store } => done(
            "user disable",
            with_people("user disable", &store, async |p| {
                p.disable_user(&name, &actor).await
            })
            .map(|u| println!("{}", describe_user(&u))),
        ),
        UserCommand::ResetPassword { name, store } => done(
            "user reset-password",
            with_people("user reset-password", &store, async |p| {
                p.reset_user_password(&name, &actor).await
            })
            .map(|out| {
                println!("reset: {} (their password and sessions ended)", describe_user(&out.user));
                println!("give them this one-time setup code:");
                println!("{}", out.setup_code);
            }),
        ),
    }
}

pub fn run_token(cmd: TokenCommand) -> ExitCode {
    let actor = cli_actor();
    match cmd {
        TokenCommand::Create {
            user,
            name,
            role: r,
            expires,
            store,
        } => done(
            "token create",
            r.as_deref().map(role).transpose().and_then(|role| {
                let out = with_people("token create", &store, async |p| {
                    p.create_token(
                        CreateToken {
                            user,
                            name,
                            role,
                            expires,
                        },
                        &actor,
                    )
                    .await
                })?;
                println!("created: {}", describe_token(&out.info));
                println!("the token (shown this once; use it as Authorization: Bearer <token>):");
                println!("{}", out.token);
                Ok(())
            }),
        ),
        TokenCommand::List { user, store } => done(
            "token list",
            with_people("token list", &store, async |p| {
                p.list_tokens(TokensQuery { user }).await
            })
            .map(|tokens| {
                for t in &tokens {
                    println!("{}", describe_token(t));
                }
            }),
        ),
        TokenCommand::Revoke { id, store } => done(
            "token revoke",
            with_people("token revoke", &store, async |p| {
                p.revoke_token(id, &actor).await
            })
            .map(|t| println!("{}", describe_token(&t))),
        ),
    }
}
