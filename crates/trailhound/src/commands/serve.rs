//! `serve` and `token`: the dashboard and HTTP API, and the tokens that open them.

use std::time::Duration;

use trailhound_server::{AuthStore, Role, ServeSettings, TlsFiles};

use crate::cli::{GlobalArgs, OutputFormat, ServeArgs, TokenCommand, TokenRole};
use crate::exit;
use crate::table::{Table, print_table};

pub(crate) fn run(args: ServeArgs, global: &GlobalArgs) -> anyhow::Result<u8> {
    let data_dir = global.data_dir()?;
    let mut settings = ServeSettings::new(data_dir.clone());
    settings.listen = args.listen;
    settings.tls = match (args.tls_cert, args.tls_key) {
        (Some(certificate), Some(key)) => Some(TlsFiles { certificate, key }),
        _ => None,
    };
    settings.secure_cookies = args.secure_cookies;
    settings.query_timeout = Duration::from_secs(args.query_timeout);
    settings.query_memory = usize::try_from(args.query_memory).unwrap_or(usize::MAX);
    settings.max_rows = args.max_rows;
    settings.cache_entries = args.cache_entries;

    let tokens = AuthStore::open(&data_dir)?.tokens()?;
    if !tokens.iter().any(|t| t.revoked_at.is_none()) {
        eprintln!(
            "note: there is no token yet, so nobody can log in. Create one with\n  trailhound token create --name $USER --role admin{}",
            global
                .data_dir
                .as_ref()
                .map(|d| format!(" --data-dir {}", d.display()))
                .unwrap_or_default()
        );
    }
    if !args.listen.ip().is_loopback() && settings.tls.is_none() {
        eprintln!(
            "warning: serving plain HTTP on {}, beyond this machine: tokens and session cookies cross the network in clear. Use --tls-cert/--tls-key, or a TLS proxy and --secure-cookies",
            args.listen
        );
    }
    let quiet = global.quiet;
    // Where the lake's files are, for the banner: an S3 lake is named by its URL.
    let lake = if data_dir.join("catalog.sqlite").is_file() {
        trailhound_lake::Lake::open(&data_dir, trailhound_lake::Access::Read)
            .ok()
            .and_then(|lake| lake.remote().map(|remote| remote.url().to_owned()))
    } else {
        None
    }
    .unwrap_or_else(|| data_dir.display().to_string());
    trailhound_server::serve_blocking(settings, |address, tls| {
        let scheme = if tls { "https" } else { "http" };
        // Tests and scripts read this line to find the port when --listen ends in :0.
        eprintln!("listening on {scheme}://{address}");
        if !quiet {
            eprintln!(
                "dashboard {scheme}://{address}/ · API {scheme}://{address}/api/v1 (openapi.json) · lake {lake}"
            );
        }
    })?;
    Ok(exit::OK)
}

pub(crate) fn token(command: TokenCommand, global: &GlobalArgs) -> anyhow::Result<u8> {
    let store = AuthStore::open(&global.data_dir()?)?;
    match command {
        TokenCommand::Create { name, role } => {
            let role = match role {
                TokenRole::Viewer => Role::Viewer,
                TokenRole::Admin => Role::Admin,
            };
            let (info, secret) = store.create_token(&name, role)?;
            // The secret alone on stdout, so `TOKEN=$(trailhound token create …)` works.
            println!("{secret}");
            eprintln!(
                "token {} ({:?}, {}) created. It is shown only now: keep it in a password manager or a secret store.",
                info.id,
                info.name,
                info.role.as_str()
            );
        }
        TokenCommand::List { format } => {
            let tokens = store.tokens()?;
            if format == OutputFormat::Json || format == OutputFormat::Jsonl {
                for token in &tokens {
                    println!("{}", serde_json::to_string(token)?);
                }
                return Ok(exit::OK);
            }
            let mut table = Table::new(&["id", "name", "role", "created", "last used", "revoked"]);
            for token in tokens {
                table.row(vec![
                    token.id.to_string(),
                    token.name,
                    token.role.as_str().to_owned(),
                    token.created_at,
                    token.last_used_at.unwrap_or_default(),
                    token.revoked_at.unwrap_or_default(),
                ]);
            }
            print_table(&table, format)?;
        }
        TokenCommand::Revoke { id } => {
            if !store.revoke(id)? {
                anyhow::bail!("there is no live token {id} (`trailhound token list` shows them)");
            }
            eprintln!("token {id} revoked; its sessions have ended");
        }
    }
    Ok(exit::OK)
}
