use super::*;

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn file(text: &str) -> Option<(&'static Path, &str)> {
    Some((Path::new("test.toml"), text))
}

/// A PostgreSQL URL carries its password in the userinfo or in a query parameter;
/// neither may show when a configuration, or a source of one, is debug-printed.
#[test]
fn debug_printing_hides_a_database_password_wherever_it_came_from() {
    for url in [
        "postgres://desk:pw-in-userinfo@db.example/replay",
        "postgres://desk@db.example/replay?sslmode=require&password=pw-in-query",
        "postgres://db.example/replay?SSLPassword=pw-in-query&user=desk#frag",
    ] {
        let from_file = Config::from_sources(
            file(&format!("db = \"{url}\"\n")),
            env(&[]),
            &Flags::default(),
        )
        .unwrap();
        let from_env =
            Config::from_sources(None, env(&[("REPLAYDESK_DB", url)]), &Flags::default()).unwrap();
        let flags = Flags {
            db: Some(PathBuf::from(url)),
            ..Flags::default()
        };
        let from_flag = Config::from_sources(None, env(&[]), &flags).unwrap();
        for shown in [
            format!("{from_file:?}"),
            format!("{from_env:?}"),
            format!("{from_flag:?}"),
            format!("{flags:?}"),
        ] {
            assert!(!shown.contains("pw-in-"), "{shown}");
            assert!(
                shown.contains("db.example/replay"),
                "the rest of the URL stays: {shown}"
            );
        }
        assert_eq!(
            from_file.db,
            PathBuf::from(url),
            "only the display hides it"
        );
    }
    let shown = replaydesk_store::db_for_display(Path::new(
        "postgres://h/d?sslmode=require&password=x&application_name=rd",
    ));
    assert_eq!(
        shown,
        "postgres://h/d?sslmode=require&password=***&application_name=rd"
    );
    assert_eq!(
        replaydesk_store::db_for_display(Path::new("/var/lib/replaydesk.db")),
        "/var/lib/replaydesk.db"
    );
}

#[test]
fn client_limits_from_the_file_and_the_environment() {
    let d = Config::from_sources(None, env(&[]), &Flags::default()).unwrap();
    assert_eq!(d.limits, ReportLimits::default());
    assert_eq!(
        d.http.connections_per_source,
        DEFAULT_CONNECTIONS_PER_SOURCE
    );
    assert!(d.http.trusted_proxies.is_empty());
    let text = "trusted_proxies = [\"10.0.0.5\", \"fd00::/8\"]\n[limits]\nreports_per_credential = 2\nreports_per_class = 0\nconnections_per_source = 64\n";
    let c = Config::from_sources(file(text), env(&[]), &Flags::default()).unwrap();
    assert_eq!(c.limits.reports_per_credential, 2.0);
    assert_eq!(c.limits.reports_per_class, 0.0);
    assert_eq!(c.http.connections_per_source, 64);
    assert_eq!(c.http.trusted_proxies.len(), 2);
    let e = env(&[
        ("REPLAYDESK_LIMITS_REPORTS_PER_CREDENTIAL", "0"),
        ("REPLAYDESK_LIMITS_CONNECTIONS_PER_SOURCE", "0"),
        ("REPLAYDESK_TRUSTED_PROXIES", "192.0.2.1, 10.0.0.0/8"),
    ]);
    let c = Config::from_sources(file(text), e, &Flags::default()).unwrap();
    assert_eq!(c.limits.reports_per_credential, 0.0);
    assert_eq!(c.http.connections_per_source, 0);
    assert_eq!(
        c.http.trusted_proxies,
        vec![
            "192.0.2.1/32".parse::<ipnet::IpNet>().unwrap(),
            "10.0.0.0/8".parse().unwrap()
        ]
    );
    for (bad, key) in [
        (
            "[limits]\nreports_per_class = -1\n",
            "limits.reports_per_class",
        ),
        ("trusted_proxies = [\"proxy.local\"]\n", "trusted_proxies"),
    ] {
        let err = Config::from_sources(file(bad), env(&[]), &Flags::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains(key), "{err}");
    }
}

#[test]
fn defaults_are_sandbox_on_localhost() {
    let c = Config::from_sources(None, env(&[]), &Flags::default()).unwrap();
    assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
    assert_eq!(c.db, PathBuf::from("replaydesk.db"));
    assert!(c.sandbox());
    assert_eq!(c.max_body_bytes, 64 * 1024);
    assert_eq!(c.im.admin, "administrator");
    assert!(c.admin_token.is_none());
}

#[test]
fn file_then_env_then_flags() {
    let text = r#"
        listen = "127.0.0.1:1000"
        db = "file.db"
        admin_token = "file-token-0123456789"
        max_body_bytes = 1000
        [im]
        endpoint = "https://console.tim.qq.com/"
        sdkappid = 1400000001
        admin = "file_admin"
        secret_key = "file-key"
        [delivery]
        group_rate = 10
    "#;
    let only_file = Config::from_sources(file(text), env(&[]), &Flags::default()).unwrap();
    assert_eq!(only_file.listen.port(), 1000);
    assert_eq!(only_file.db, PathBuf::from("file.db"));
    assert_eq!(
        only_file.im.endpoint.as_deref(),
        Some("https://console.tim.qq.com")
    );
    assert_eq!(only_file.im.admin, "file_admin");
    assert_eq!(only_file.max_body_bytes, 1000);
    assert_eq!(only_file.delivery.group_rate, 10.0);
    assert!(!only_file.sandbox());

    let e = env(&[
        ("REPLAYDESK_LISTEN", "127.0.0.1:2000"),
        ("REPLAYDESK_DB", "env.db"),
        ("REPLAYDESK_IM_ADMIN", "env_admin"),
        ("REPLAYDESK_IM_SECRET_KEY", "env-key"),
        ("REPLAYDESK_ADMIN_TOKEN", ""),
        ("UNRELATED", "x"),
    ]);
    let with_env = Config::from_sources(file(text), e.clone(), &Flags::default()).unwrap();
    assert_eq!(with_env.listen.port(), 2000);
    assert_eq!(with_env.db, PathBuf::from("env.db"));
    assert_eq!(with_env.im.admin, "env_admin");
    assert_eq!(with_env.im.secret_key.as_ref().unwrap().expose(), "env-key");
    // An empty variable leaves the file's value.
    assert_eq!(
        with_env.admin_token.as_ref().unwrap().expose(),
        "file-token-0123456789"
    );
    assert_eq!(with_env.im.sdkappid, Some(1_400_000_001));

    let flags = Flags {
        config: None,
        listen: Some("127.0.0.1:3000".into()),
        db: Some("flag.db".into()),
    };
    let all = Config::from_sources(file(text), e, &flags).unwrap();
    assert_eq!(all.listen.port(), 3000);
    assert_eq!(all.db, PathBuf::from("flag.db"));
    assert_eq!(all.im.admin, "env_admin");
}

#[test]
fn unknown_keys_and_wrong_types_are_named() {
    let err = Config::from_sources(file("lisen = \"x\""), env(&[]), &Flags::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("lisen") && err.contains("test.toml"), "{err}");
    let err = Config::from_sources(file("[im]\nsdk_app_id = 1"), env(&[]), &Flags::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("sdk_app_id"), "{err}");
    let err = Config::from_sources(
        file("[im]\nsdkappid = \"abc\""),
        env(&[]),
        &Flags::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("sdkappid") && err.contains("wrong type, expected"),
        "{err}"
    );
    assert!(!err.contains("abc"), "the value is not quoted: {err}");
    let err = Config::from_sources(file("max_body_bytes = -1"), env(&[]), &Flags::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("max_body_bytes"), "{err}");
    let err = Config::from_sources(file("listen = = 1"), env(&[]), &Flags::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("test.toml"), "{err}");
    let err = Config::from_sources(
        None,
        env(&[("REPLAYDESK_IM_SDKAPPID", "12x")]),
        &Flags::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("REPLAYDESK_IM_SDKAPPID") && !err.contains("12x"),
        "{err}"
    );
}

/// Hole 1: a mistake on a secret's line names the key, line and column, never the text.
#[test]
fn config_errors_never_echo_a_secret() {
    const SECRET: &str = "s3cr3t-planted-value";
    let files = [
        format!("[im]\nsecret_key = \"{SECRET}\nsdkappid = 1\n"),
        format!("[im]\nsecret_key = {SECRET}\n"),
        format!("callback_key = \"{SECRET}\"\ncalback_key = \"{SECRET}\"\n"),
        format!("[im]\nsdkappid = \"{SECRET}\"\n"),
        format!("admin_token = [\"{SECRET}\"]\n"),
        format!("{SECRET}\n"),
        format!("[im]\nendpoint = \"https://user:{SECRET}@x\"\n"),
        format!("listen = \"{SECRET}\"\n"),
    ];
    for text in &files {
        let err = Config::from_sources(file(text), env(&[]), &Flags::default())
            .expect_err(text)
            .to_string();
        assert!(!err.contains(SECRET), "{text:?} → {err}");
    }
    let err = Config::from_sources(file(&files[0]), env(&[]), &Flags::default())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("line 2") && err.contains("column") && err.contains("im.secret_key"),
        "{err}"
    );
    for var in [
        "REPLAYDESK_IM_SDKAPPID",
        "REPLAYDESK_MAX_BODY_BYTES",
        "REPLAYDESK_DELIVERY_APP_RATE",
        "REPLAYDESK_LISTEN",
        "REPLAYDESK_IM_ENDPOINT",
    ] {
        let value = if var == "REPLAYDESK_IM_ENDPOINT" {
            format!("ftp://u:{SECRET}@x")
        } else {
            SECRET.to_owned()
        };
        let err = Config::from_sources(None, env(&[(var, &value)]), &Flags::default())
            .expect_err(var)
            .to_string();
        assert!(!err.contains(SECRET), "{var} → {err}");
    }
}

#[test]
fn bad_values_are_refused() {
    let cases: &[(&str, &str)] = &[
        ("listen = \"localhost\"", "listen"),
        ("max_body_bytes = 0", "max_body_bytes"),
        ("admin_token = \"short\"", "admin_token"),
        (
            "[im]\nendpoint = \"ftp://x\"\nsdkappid = 1\nsecret_key = \"k\"",
            "im.endpoint",
        ),
        (
            "[im]\nendpoint = \"https://x\"\nsecret_key = \"k\"",
            "im.sdkappid",
        ),
        (
            "[im]\nendpoint = \"https://x\"\nsdkappid = 1",
            "im.secret_key",
        ),
        ("[delivery]\nconcurrency = 0", "delivery.concurrency"),
        ("[delivery]\ngroup_rate = -1", "delivery.group_rate"),
        (
            "[delivery]\nretry_schedule = \"soon\"",
            "delivery.retry_schedule",
        ),
    ];
    for (text, key) in cases {
        let err = Config::from_sources(file(text), env(&[]), &Flags::default())
            .expect_err(text)
            .to_string();
        assert!(err.starts_with(key), "{text}: {err}");
    }
}

#[test]
fn secrets_never_printed_and_token_generated_once() {
    let mut c = Config::from_sources(
        None,
        env(&[
            ("REPLAYDESK_IM_SECRET_KEY", "hunter2-key"),
            ("REPLAYDESK_CALLBACK_KEY", "hunter2-cb"),
        ]),
        &Flags::default(),
    )
    .unwrap();
    let t = c.ensure_admin_token().expect("generated");
    assert_eq!(t.expose().len(), 64);
    assert!(t.expose().chars().all(|c| c.is_ascii_hexdigit()));
    assert!(c.ensure_admin_token().is_none(), "only once");
    let shown = format!("{c:?}");
    assert!(
        !shown.contains("hunter2") && !shown.contains(t.expose()),
        "{shown}"
    );
}

/// Hole 11: an endpoint holding `user:pass@` is shown without it by `Debug`, from the
/// file or the environment.
#[test]
fn debug_output_hides_the_endpoint_userinfo() {
    let endpoint = "https://ops:hunter2-pw@console.tim.qq.com";
    let from_file = Config::from_sources(
        file(&format!(
            "[im]\nendpoint = \"{endpoint}\"\nsdkappid = 1\nsecret_key = \"k\"\n"
        )),
        env(&[]),
        &Flags::default(),
    )
    .unwrap();
    let from_env = Config::from_sources(
        None,
        env(&[
            ("REPLAYDESK_IM_ENDPOINT", endpoint),
            ("REPLAYDESK_IM_SDKAPPID", "1"),
            ("REPLAYDESK_IM_SECRET_KEY", "k"),
        ]),
        &Flags::default(),
    )
    .unwrap();
    for c in [from_file, from_env] {
        assert_eq!(c.im.endpoint.as_deref(), Some(endpoint), "kept for use");
        for shown in [format!("{c:?}"), format!("{:?}", c.im)] {
            assert!(
                !shown.contains("hunter2") && !shown.contains("ops:"),
                "{shown}"
            );
            assert!(shown.contains("https://console.tim.qq.com"), "{shown}");
        }
    }
}

/// The variables users set: the names `serve` has always read, one for each key.
#[test]
fn every_key_has_its_documented_variable() {
    let mut vars: Vec<String> = keys().iter().map(|k| env_var(k)).collect();
    vars.sort();
    let mut expected = vec![
        "REPLAYDESK_LISTEN",
        "REPLAYDESK_DB",
        "REPLAYDESK_ADMIN_TOKEN",
        "REPLAYDESK_ADMIN_TOKEN_ENABLED",
        "REPLAYDESK_SESSION_IDLE",
        "REPLAYDESK_SESSION_MAX",
        "REPLAYDESK_CALLBACK_KEY",
        "REPLAYDESK_IM_ENDPOINT",
        "REPLAYDESK_IM_SDKAPPID",
        "REPLAYDESK_IM_ADMIN",
        "REPLAYDESK_IM_SECRET_KEY",
        "REPLAYDESK_CALLBACK_SKEW_SECS",
        "REPLAYDESK_CALLBACK_RATE_PER_SOURCE",
        "REPLAYDESK_BEHIND_PROXY",
        "REPLAYDESK_MAX_BODY_BYTES",
        "REPLAYDESK_UI_DIR",
        "REPLAYDESK_SHUTDOWN_GRACE_SECS",
        "REPLAYDESK_DELIVERY_APP_RATE",
        "REPLAYDESK_DELIVERY_GROUP_RATE",
        "REPLAYDESK_DELIVERY_CONCURRENCY",
        "REPLAYDESK_DELIVERY_RETRY_SCHEDULE",
        "REPLAYDESK_DELIVERY_LEASE",
        "REPLAYDESK_LIMITS_REPORTS_PER_CREDENTIAL",
        "REPLAYDESK_LIMITS_REPORTS_PER_CLASS",
        "REPLAYDESK_LIMITS_CONNECTIONS_PER_SOURCE",
        "REPLAYDESK_TRUSTED_PROXIES",
        "REPLAYDESK_RECORDINGS_MISSING_AFTER",
        "REPLAYDESK_TRTC_CALLBACK_KEY",
        "REPLAYDESK_RECORDINGS_COS_BASE_URL",
        "REPLAYDESK_RECORDINGS_MIXED_USER_PREFIX",
        "REPLAYDESK_HEARTBEAT_REANCHOR_MS",
        "REPLAYDESK_HEARTBEAT_SILENCE_END",
        "REPLAYDESK_IM_RETENTION",
        "REPLAYDESK_ARCHIVE_EVERY",
    ];
    expected.sort();
    assert_eq!(vars, expected);
}

/// A file's text setting `entries` (dotted key, TOML value), sections after the top level.
fn toml_text(entries: &[(&str, &str)]) -> String {
    let mut top = String::new();
    let mut sections: Vec<(&str, String)> = Vec::new();
    for (key, value) in entries {
        match key.split_once('.') {
            None => top.push_str(&format!("{key} = {value}\n")),
            Some((section, name)) => {
                let line = format!("{name} = {value}\n");
                match sections.iter_mut().find(|(s, _)| s == &section) {
                    Some((_, body)) => body.push_str(&line),
                    None => sections.push((section, line)),
                }
            }
        }
    }
    for (section, body) in sections {
        top.push_str(&format!("[{section}]\n{body}"));
    }
    top
}

/// Everything a configuration holds, secrets included (this test's own comparison).
fn fingerprint(c: &Config) -> String {
    let secret = |s: &Option<Secret>| s.as_ref().map(|s| s.expose().to_owned());
    format!(
        "{c:?} {:?} {:?} {:?} {:?} {:?}",
        secret(&c.admin_token),
        secret(&c.callback_key),
        secret(&c.trtc_callback_key),
        secret(&c.im.secret_key),
        c.delivery.to_delivery_config().unwrap()
    )
}

/// Every key can be set from the file and from its variable with the same effect, and the
/// variable wins over the file.
#[test]
fn every_key_is_settable_from_the_file_and_the_environment() {
    // (key, a value in TOML, the same value in its variable, another value in TOML)
    let samples: &[(&str, &str, &str, &str)] = &[
        (
            "listen",
            "\"127.0.0.1:1001\"",
            "127.0.0.1:1001",
            "\"127.0.0.1:1002\"",
        ),
        ("db", "\"a.db\"", "a.db", "\"b.db\""),
        (
            "admin_token",
            "\"token-aaaaaaaaaaaaaaaa\"",
            "token-aaaaaaaaaaaaaaaa",
            "\"token-bbbbbbbbbbbbbbbb\"",
        ),
        ("admin_token_enabled", "false", "false", "true"),
        ("session_idle", "\"5m\"", "5m", "\"6m\""),
        ("session_max", "\"2h\"", "2h", "\"3h\""),
        ("callback_key", "\"cb-a\"", "cb-a", "\"cb-b\""),
        ("trtc_callback_key", "\"trtc-a\"", "trtc-a", "\"trtc-b\""),
        (
            "recordings.cos_base_url",
            "\"https://a.example/rec\"",
            "https://a.example/rec",
            "\"https://b.example/rec\"",
        ),
        (
            "recordings.mixed_user_prefix",
            "\"mix_a_\"",
            "mix_a_",
            "\"mix_b_\"",
        ),
        ("callback_skew_secs", "5", "5", "6"),
        ("callback_rate_per_source", "2.5", "2.5", "3.5"),
        ("behind_proxy", "true", "1", "false"),
        ("max_body_bytes", "1000", "1000", "2000"),
        ("ui_dir", "\"ui-a\"", "ui-a", "\"ui-b\""),
        ("shutdown_grace_secs", "7", "7", "8"),
        (
            "trusted_proxies",
            "[\"10.0.0.1\", \"10.0.0.0/8\"]",
            "10.0.0.1, 10.0.0.0/8",
            "[\"10.0.0.2\"]",
        ),
        (
            "im.endpoint",
            "\"https://a.example\"",
            "https://a.example",
            "\"https://b.example\"",
        ),
        ("im.sdkappid", "8", "8", "9"),
        ("im.admin", "\"admin_a\"", "admin_a", "\"admin_b\""),
        ("im.secret_key", "\"key-a\"", "key-a", "\"key-b\""),
        ("delivery.app_rate", "5", "5", "6"),
        ("delivery.group_rate", "5", "5", "6"),
        ("delivery.concurrency", "3", "3", "4"),
        ("delivery.retry_schedule", "\"1s,2s\"", "1s,2s", "\"3s\""),
        ("delivery.lease", "\"10s\"", "10s", "\"20s\""),
        ("limits.reports_per_credential", "2", "2", "3"),
        ("limits.reports_per_class", "4", "4", "5"),
        ("limits.connections_per_source", "9", "9", "10"),
        ("recordings.missing_after", "\"10m\"", "10m", "\"1h\""),
        ("heartbeat.reanchor_ms", "50", "50", "60"),
        ("heartbeat.silence_end", "\"0\"", "0", "\"2s\""),
        ("im.retention", "\"30d\"", "30d", "\"90d\""),
        ("archive.every", "\"1m\"", "1m", "\"2m\""),
    ];
    let mut covered: Vec<&str> = samples.iter().map(|s| s.0).collect();
    covered.sort();
    let mut all = keys();
    all.sort();
    assert_eq!(covered, all, "a sample for every key");

    // What an endpoint needs, so that every key's sample is valid on its own.
    let base = [("im.sdkappid", "7"), ("im.secret_key", "\"base-key\"")];
    let load = |entries: &[(&str, &str)], vars: &[(&str, &str)]| {
        let mut all_entries: Vec<(&str, &str)> = base
            .iter()
            .filter(|(k, _)| !entries.iter().any(|(e, _)| e == k))
            .copied()
            .collect();
        all_entries.extend_from_slice(entries);
        let text = toml_text(&all_entries);
        let c = Config::from_sources(file(&text), env(vars), &Flags::default())
            .unwrap_or_else(|e| panic!("{text}: {e}"));
        fingerprint(&c)
    };
    let plain = load(&[], &[]);
    for (key, in_file, in_env, other) in samples {
        let var = env_var(key);
        let from_file = load(&[(key, in_file)], &[]);
        let from_env = load(&[], &[(&var, in_env)]);
        assert_ne!(from_file, plain, "{key} takes effect");
        assert_eq!(from_file, from_env, "{var} sets {key} as the file does");
        let both = load(&[(key, other)], &[(&var, in_env)]);
        assert_eq!(both, from_file, "{var} wins over the file's {key}");
        assert_ne!(load(&[(key, other)], &[]), from_file, "{key}: two values");
    }
}

/// A variable with a value of the wrong kind is named, its value never shown.
#[test]
fn every_typed_variable_refuses_a_wrong_value_without_showing_it() {
    const BAD: &str = "s3cr3t-not-a-number";
    // `trusted_proxies` and `delivery.retry_schedule` quote the entry they cannot read:
    // lists (of addresses, of delays), so that a typo among several entries can be found.
    let quoting = ["trusted_proxies", "delivery.retry_schedule"];
    for key in keys()
        .into_iter()
        .filter(|k| !quoting.contains(&k.as_str()))
    {
        let var = env_var(&key);
        match Config::from_sources(None, env(&[(&var, BAD)]), &Flags::default()) {
            Ok(_) => {}
            Err(e) => {
                let e = e.to_string();
                assert!(!e.contains(BAD), "{var}: {e}");
                assert!(e.contains(&var) || e.starts_with(&key), "{var}: {e}");
            }
        }
    }
    for var in [
        "REPLAYDESK_IM_SDKAPPID",
        "REPLAYDESK_BEHIND_PROXY",
        "REPLAYDESK_DELIVERY_APP_RATE",
        "REPLAYDESK_LIMITS_CONNECTIONS_PER_SOURCE",
    ] {
        let e = Config::from_sources(None, env(&[(var, BAD)]), &Flags::default())
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with(&format!("environment variable {var}: expected ")),
            "{e}"
        );
    }
}

/// docs/configuration.md's table of keys is the users' reference: every key the code
/// declares is a row of it, with its variable, and the table names no key the code lacks.
#[test]
fn the_configuration_doc_lists_every_key_with_its_variable() {
    // Found by walking up from this crate, so the test survives the crate moving.
    let doc = Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .map(|d| d.join("docs/configuration.md"))
        .find(|p| p.is_file())
        .expect("docs/configuration.md above the crate");
    let text = std::fs::read_to_string(&doc).unwrap();
    let rows: Vec<(String, String)> = text
        .lines()
        .filter_map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            let key = cells.get(1)?.strip_prefix('`')?.strip_suffix('`')?;
            let var = cells.get(2)?.strip_prefix('`')?.strip_suffix('`')?;
            var.starts_with(ENV_PREFIX)
                .then(|| (key.to_owned(), var.to_owned()))
        })
        .collect();
    for key in keys() {
        let row = rows.iter().find(|(k, _)| *k == key);
        assert_eq!(
            row.map(|(_, v)| v.as_str()),
            Some(env_var(&key).as_str()),
            "{} has no row `{key}` | `{}` in its table of keys",
            doc.display(),
            env_var(&key)
        );
    }
    for (key, _) in &rows {
        assert!(
            keys().contains(key),
            "{} documents `{key}`, which the code does not have",
            doc.display()
        );
    }
}

#[test]
fn heartbeat_keys_take_a_bound_and_a_silence_or_zero_and_refuse_nonsense() {
    let load = |text: &str| Config::from_sources(file(text), env(&[]), &Flags::default());
    let d = load("").unwrap();
    assert_eq!(d.heartbeat.reanchor_ms, 20);
    assert_eq!(
        d.heartbeat.silence_end,
        Some(std::time::Duration::from_secs(600))
    );
    let c = load("[heartbeat]\nreanchor_ms = 5\nsilence_end = \"2s\"\n").unwrap();
    assert_eq!(c.heartbeat.reanchor_ms, 5);
    assert_eq!(
        c.heartbeat.silence_end,
        Some(std::time::Duration::from_secs(2))
    );
    let never = load("[heartbeat]\nsilence_end = \"0\"\n").unwrap();
    assert_eq!(never.heartbeat.silence_end, None);
    for bad in [
        "[heartbeat]\nreanchor_ms = 0\n",
        "[heartbeat]\nreanchor_ms = 70000\n",
        "[heartbeat]\nsilence_end = \"soon\"\n",
        "[heartbeat]\nsilence_end = \"10ms\"\n",
    ] {
        let e = load(bad).unwrap_err().to_string();
        assert!(e.contains("heartbeat."), "{bad}: {e}");
    }
}

#[test]
fn retention_reads_days_and_refuses_nonsense() {
    use super::validate::parse_days_duration;
    assert_eq!(
        parse_days_duration("7d"),
        Some(Duration::from_secs(7 * 86_400))
    );
    assert_eq!(
        parse_days_duration(" 90d "),
        Some(Duration::from_secs(90 * 86_400))
    );
    assert_eq!(parse_days_duration("2s"), Some(Duration::from_secs(2)));
    for bad in ["", "d", "-1d", "0s", "99999999999999999999d", "7x", "5000d"] {
        assert_eq!(parse_days_duration(bad), None, "{bad:?}");
    }
    let c = Config::from_sources(file(""), env(&[]), &Flags::default()).unwrap();
    assert_eq!(c.im.retention, Duration::from_secs(7 * 86_400));
}

mod retention_props {
    use super::super::validate::parse_days_duration;
    use proptest::prelude::*;
    use std::time::Duration;

    proptest! {
        /// Any text: an answer, never a panic; an accepted one is between 1 s and 10 years.
        #[test]
        fn any_text_is_read_or_refused(text in "\\PC{0,24}") {
            if let Some(d) = parse_days_duration(&text) {
                prop_assert!(d >= Duration::from_secs(1));
                prop_assert!(d <= Duration::from_secs(3650 * 86_400));
            }
        }

        /// `Nd` is N days, and the same as `N*24h` (hours go up to a year).
        #[test]
        fn days_are_days(n in 1u64..=3650) {
            prop_assert_eq!(parse_days_duration(&format!("{n}d")), Some(Duration::from_secs(n * 86_400)));
            if n <= 365 {
                prop_assert_eq!(parse_days_duration(&format!("{}h", n * 24)), Some(Duration::from_secs(n * 86_400)));
            }
        }
    }
}
