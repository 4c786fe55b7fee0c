//! Every query a console page or the export runs, checked with the database's own planner
//! on both engines: a plan that reads the whole of a table that grows with use (messages,
//! attempts, reports, callbacks, members, history, audit, job links) fails the test, with
//! the page, the statement and the plan.
//!
//! The statements are not listed by hand: a real `serve` (in process, sandbox mode, SQLite)
//! is filled by `replaydesk demo` over HTTP, a job and a reconcile run are added, and each
//! console operation then runs inside a tracing span; sqlx logs every statement it runs
//! (target `sqlx::query`), and a layer of this test keeps those inside a page's span. A page
//! or store function added later is checked as soon as a page below calls it.
//!
//! SQLite: `EXPLAIN QUERY PLAN` of each statement. The store never runs `ANALYZE`, so the
//! planner has no statistics and its plan is the one it makes for a store of any size.
//! PostgreSQL: the same data copied in (`migrate-store`'s copy), each statement prepared and
//! explained with a generic plan (no parameter values) and `enable_seqscan = off`: a
//! sequential scan that is still chosen then has no index to use, whatever the size.
//!
//! One kind of scan is allowed: an ordered walk stopped by `LIMIT` (a page, newest first by
//! id), which reads only until the page is full; the store's index hints keep those short.
//!
//! One file although long: one walk of every page collects the statements, then each is
//! planned on both engines; the walk and the check are one test's two halves.

use crate::util;
use crate::util::server::{wait_until, TestServer, ADMIN};
use replaydesk::demo::{demo, DemoArgs, DemoOutcome};
use replaydesk::secret::Secret;
use replaydesk::service::ReplayDesk;
use replaydesk::store::Store;
use serde_json::{json, Value};
use sqlx::{Connection, Row};
use std::collections::BTreeMap;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::prelude::*;
use tracing_subscriber::registry::LookupSpan;

/// Tables that grow with use: a full scan of one of them grows with the whole store.
const BIG: &[&str] = &[
    "messages",
    "attempts",
    "timeline_reports",
    "recording_callbacks",
    "class_members",
    "group_history",
    "audit_log",
    "job_messages",
];

/// Full reads that are known and accepted, each with why: (page, table, reason). A page is
/// named as `run_pages` names it (a base name like `classes` also covers `classes?q`).
const ACCEPTED: &[(&str, &str, &str)] = &[
    (
        "classes",
        "class_members",
        "the class list is one unpaged list of every class; its member counts read the \
         members' primary key once (an entry per member, never per message or report)",
    ),
    // The Messages page across every class, narrowed only by a field that no index of its
    // own serves: it walks the messages newest first until the page fills, which reads
    // the whole store when few match. An index per such field would slow every intake
    // (each insert already updates 8 of them: docs/benchmarks.md); naming a class makes each
    // of these an index search (the `class messages` pages above pass).
    ("messages {\"uid\":\"teacher_li\"}", "messages", CROSS_CLASS),
    ("messages {\"type\":[\"1003\"]}", "messages", CROSS_CLASS),
    ("messages {\"q\":\"teacher\"}", "messages", CROSS_CLASS),
    (
        "messages {\"from\":1,\"to\":4000000000000}",
        "messages",
        CROSS_CLASS,
    ),
    ("messages {\"retried\":true}", "messages", CROSS_CLASS),
];

const CROSS_CLASS: &str = "a search across every class by a field with no index of its own";

const CALLBACK_KEY: &str = "query-plans-callback-key-0123";

/// The page a span stands for (kept in the span's extensions).
struct PageName(String);

/// (page, statement) as sqlx ran them inside a page's span.
fn captured() -> &'static Mutex<Vec<(String, String)>> {
    static C: OnceLock<Mutex<Vec<(String, String)>>> = OnceLock::new();
    C.get_or_init(Default::default)
}

struct Capture;

#[derive(Default)]
struct Fields {
    page: Option<String>,
    statement: Option<String>,
    summary: Option<String>,
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "page" => self.page = Some(value.to_owned()),
            "db.statement" => self.statement = Some(value.to_owned()),
            "summary" => self.summary = Some(value.to_owned()),
            _ => {}
        }
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.record_str(field, &format!("{value:?}"));
    }
}

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Capture {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        if attrs.metadata().name() != "console_page" {
            return;
        }
        let mut f = Fields::default();
        attrs.record(&mut f);
        if let (Some(page), Some(span)) = (f.page, ctx.span(id)) {
            span.extensions_mut().insert(PageName(page));
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        if event.metadata().target() != "sqlx::query" {
            return;
        }
        let Some(scope) = ctx.event_scope(event) else {
            return;
        };
        let page = scope
            .from_root()
            .find_map(|s| s.extensions().get::<PageName>().map(|p| p.0.clone()));
        let Some(page) = page else { return };
        let mut f = Fields::default();
        event.record(&mut f);
        // sqlx logs a short statement whole as the summary, a longer one in db.statement.
        let sql = match f.statement.filter(|s| !s.trim().is_empty()) {
            Some(s) => s,
            None => f.summary.unwrap_or_default(),
        };
        captured()
            .lock()
            .unwrap()
            .push((page, sql.trim().to_owned()));
    }
}

fn install_capture() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        // The process's one global subscriber, shared by every test running beside this
        // one: it takes only these spans and sqlx's statement events, so the others'
        // events stay disabled as they are without it.
        let only_pages_and_statements = tracing_subscriber::filter::filter_fn(|meta| {
            meta.name() == "console_page" || meta.target() == "sqlx::query"
        });
        tracing_subscriber::registry()
            .with(Capture.with_filter(only_pages_and_statements))
            .try_init()
            .expect("the test's tracing subscriber");
    });
}

/// Runs `f` as the console page `page` (its statements are captured under that name).
async fn page<T, F: std::future::Future<Output = T>>(name: &str, f: F) -> T {
    use tracing::Instrument;
    f.instrument(tracing::info_span!("console_page", page = name))
        .await
}

fn q<T: serde::de::DeserializeOwned>(v: Value) -> T {
    serde_json::from_value(v).unwrap()
}

/// Every console page's reads (as the views call them), the resend preview, the alignment,
/// the reconcile view and the export, on `desk`. Answers each page's statements.
async fn run_pages(desk: &ReplayDesk, class_id: &str) -> BTreeMap<String, Vec<String>> {
    captured().lock().unwrap().clear();
    let c = desk.console();
    macro_rules! run {
        ($name:expr, $call:expr) => {
            page($name, $call)
                .await
                .unwrap_or_else(|e| panic!("{}: {e}", $name))
        };
    }
    run!("classes", c.list_classes(q(json!({}))));
    run!("classes?q", c.list_classes(q(json!({"q": "demo"}))));
    run!("class", c.get_class(class_id));
    run!("class members", c.class_members(class_id));
    let reports = run!(
        "class reports",
        c.class_reports(class_id, q(json!({"limit": 5})))
    );
    if let Some(cursor) = reports.next_cursor {
        run!(
            "class reports (next page)",
            c.class_reports(class_id, q(json!({"limit": 5, "cursor": cursor})))
        );
    }
    let message_queries = [
        json!({}),
        json!({"limit": 3}),
        json!({"status": ["failed"]}),
        json!({"status": ["sent"]}),
        json!({"status": ["failed", "retrying"]}),
        json!({"status": ["sent", "failed", "pending", "retrying", "sending"]}),
        json!({"type": ["1003"]}),
        json!({"type": ["1004"], "status": ["failed"]}),
        json!({"uid": "teacher_li"}),
        json!({"uid": "teacher_li", "status": ["failed", "sent"]}),
        json!({"q": "teacher"}),
        json!({"from": 1, "to": 4_000_000_000_000i64}),
        json!({"updated_from": 1, "status": ["failed"]}),
        json!({"retried": true}),
        json!({"cursor": i64::MAX / 2}),
    ];
    for mq in &message_queries {
        run!(
            &format!("class messages {mq}"),
            c.class_messages(class_id, q(mq.clone()))
        );
        run!(&format!("messages {mq}"), c.list_messages(q(mq.clone())));
    }
    // The detail of one message of each type (each finds its source its own way).
    for t in ["1001", "1002", "1003", "1004"] {
        let newest = c
            .class_messages(class_id, q(json!({"type": [t], "limit": 1})))
            .await
            .unwrap();
        for m in &newest.items {
            run!(&format!("message {t}"), c.get_message(m.id));
        }
    }
    run!(
        "resend preview (class)",
        c.preview_resend(q(json!({"class_id": class_id, "statuses": ["failed"]})))
    );
    run!(
        "resend preview (all classes)",
        c.preview_resend(q(json!({"all_classes": true, "statuses": ["failed"]})))
    );
    let jobs = run!("jobs", c.list_jobs(q(json!({"limit": 100}))));
    for j in jobs.iter().take(2) {
        run!("job", c.get_job(j.id));
        run!(
            "job messages",
            c.job_messages(j.id, q(json!({"limit": 100})))
        );
        run!(
            "job messages (next page)",
            c.job_messages(j.id, q(json!({"limit": 2, "cursor": i64::MAX / 2})))
        );
    }
    run!("audit", c.list_audit(q(json!({"limit": 200}))));
    run!(
        "audit?action",
        c.list_audit(q(json!({"limit": 200, "action": "create_class"})))
    );
    run!(
        "audit?action&target",
        c.list_audit(q(
            json!({"action": "issue_credential", "target": "member:", "cursor": 1000})
        ))
    );
    run!("alerts", c.list_alerts());
    let cbs = run!("callbacks", c.list_callbacks(q(json!({"limit": 200}))));
    run!(
        "callbacks (unmatched)",
        c.list_callbacks(q(json!({"status": ["unmatched"], "limit": 100})))
    );
    for cb in cbs.items.iter().take(3) {
        run!("callback", c.get_callback(cb.id));
    }
    run!("alignment", desk.class_alignment(class_id));
    run!("reconcile", desk.reconcile_status(class_id));
    run!("export", desk.export_class(class_id));

    let mut by_page: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (p, sql) in captured().lock().unwrap().drain(..) {
        let v = by_page.entry(p).or_default();
        if !v.contains(&sql) {
            v.push(sql);
        }
    }
    by_page
}

/// Adds `more`'s statements to `pages`, each once.
fn merge(pages: &mut BTreeMap<String, Vec<String>>, more: BTreeMap<String, Vec<String>>) {
    for (p, statements) in more {
        let v = pages.entry(p).or_default();
        for s in statements {
            if !v.contains(&s) {
                v.push(s);
            }
        }
    }
}

/// Statements worth a plan: reads and writes of rows (not transaction control or pragmas).
fn is_dml(sql: &str) -> bool {
    let head = sql.trim_start().to_ascii_uppercase();
    ["SELECT", "WITH", "INSERT", "UPDATE", "DELETE"]
        .iter()
        .any(|k| head.starts_with(k))
}

fn words(sql: &str) -> Vec<String> {
    sql.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The statement's names for tables: each table after FROM or JOIN, under its own name and
/// its alias (`messages m`, `messages AS m`).
fn aliases(sql: &str) -> BTreeMap<String, String> {
    const NOT_ALIAS: &[&str] = &[
        "WHERE", "ON", "JOIN", "LEFT", "INNER", "CROSS", "ORDER", "GROUP", "LIMIT", "UNION", "SET",
        "USING", "INDEXED", "NOT", "AND", "OR", "VALUES",
    ];
    let w = words(sql);
    let mut out = BTreeMap::new();
    for i in 0..w.len() {
        let kw = w[i].to_ascii_uppercase();
        if kw != "FROM" && kw != "JOIN" && kw != "INTO" && kw != "UPDATE" {
            continue;
        }
        let Some(table) = w.get(i + 1) else { continue };
        out.insert(table.clone(), table.clone());
        let mut j = i + 2;
        if w.get(j).is_some_and(|x| x.eq_ignore_ascii_case("AS")) {
            j += 1;
        }
        if let Some(a) = w.get(j) {
            if !NOT_ALIAS.contains(&a.to_ascii_uppercase().as_str()) {
                out.insert(a.clone(), table.clone());
            }
        }
    }
    out
}

/// Whether a WHERE of `sql` keeps only some of the rows it walks: a condition other than
/// the page cursor (`id < $n`, `$n IS NULL OR id < $m`) and `1 = 1`. An ordered walk of a
/// filtered table reads as far as it must to fill the page: all of it, when the rows asked
/// for are few or none.
fn filtered(sql: &str) -> bool {
    let upper = sql.to_ascii_uppercase();
    let mut rest = upper.as_str();
    while let Some(at) = rest.find(" WHERE ") {
        let clause = &rest[at + 7..];
        let end = [" ORDER BY ", " GROUP BY ", " LIMIT ", ")"]
            .iter()
            .filter_map(|k| clause.find(k))
            .min()
            .unwrap_or(clause.len());
        let conditions = clause[..end].replace(['(', ')'], " ");
        let kept = conditions
            .split(" AND ")
            .map(str::trim)
            .filter(|c| !c.is_empty() && *c != "1 = 1")
            .filter(|c| {
                let w: Vec<&str> = c.split_whitespace().collect();
                // `id < $n`, or `$n IS NULL OR id < $m`: the cursor.
                !(matches!(w.as_slice(), ["ID", "<", p] if p.starts_with('$'))
                    || matches!(w.as_slice(), [p, "IS", "NULL", "OR", "ID", "<", q]
                        if p.starts_with('$') && q.starts_with('$')))
            })
            .count();
        if kept > 0 {
            return true;
        }
        rest = &clause[end..];
    }
    false
}

fn has_limit(sql: &str) -> bool {
    words(sql).iter().any(|w| w.eq_ignore_ascii_case("LIMIT"))
}

/// SQLite's plan of `sql`, as (id, parent, detail) rows.
async fn sqlite_plan(db: &std::path::Path, sql: &str) -> Result<Vec<(i64, i64, String)>, String> {
    let opts = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(db)
        .read_only(true);
    let mut conn = sqlx::SqliteConnection::connect_with(&opts)
        .await
        .map_err(|e| e.to_string())?;
    let rows = sqlx::query(&format!("EXPLAIN QUERY PLAN {sql}"))
        .fetch_all(&mut conn)
        .await
        .map_err(|e| e.to_string())?;
    let _ = conn.close().await;
    Ok(rows
        .iter()
        .map(|r| (r.get("id"), r.get("parent"), r.get("detail")))
        .collect())
}

/// What is wrong with SQLite's plan of `sql`: each full scan of a big table that is not an
/// ordered walk stopped by `LIMIT`, and each automatic index built on one (SQLite builds it
/// by reading the whole table, for every run of the statement).
fn sqlite_full_scans(sql: &str, plan: &[(i64, i64, String)]) -> Vec<String> {
    let names = aliases(sql);
    let big = |name: &str| {
        names
            .get(name)
            .is_some_and(|t| BIG.contains(&t.as_str()))
            .then(|| names[name].clone())
    };
    let mut out = Vec::new();
    for (_, parent, detail) in plan {
        let mut w = detail.split_whitespace();
        let (Some(verb), Some(name)) = (w.next(), w.next()) else {
            continue;
        };
        let Some(table) = big(name) else { continue };
        if detail.contains("AUTOMATIC") {
            out.push(format!(
                "{table}: an automatic index is built for it ({detail})"
            ));
            continue;
        }
        if verb != "SCAN" {
            continue;
        }
        // An ordered walk: the rows come in the ORDER BY's order (no sort at this level of
        // the plan), so `LIMIT` stops it when the page is full.
        let sorted_here = plan
            .iter()
            .any(|(_, p, d)| p == parent && d.starts_with("USE TEMP B-TREE FOR"));
        if has_limit(sql) && !sorted_here && !filtered(sql) {
            continue;
        }
        out.push(format!("{table}: read whole ({detail})"));
    }
    out
}

/// PostgreSQL's generic plan of `sql` (JSON), with sequential scans priced out.
async fn pg_plan(conn: &mut sqlx::PgConnection, sql: &str) -> Result<Value, String> {
    let e = |e: sqlx::Error| e.to_string();
    // Plain statements (not prepared by sqlx, whose own prepared statements live on this
    // connection too).
    // A parameter PostgreSQL cannot type from the text alone (`$1 IS NULL`) is typed as
    // sqlx binds it: a number, else text.
    let mut types: Vec<&str> = Vec::new();
    loop {
        let declared = match types.is_empty() {
            true => String::new(),
            false => format!("({})", types.join(", ")),
        };
        let tried = sqlx::raw_sql(&format!("PREPARE plan_me{declared} AS {sql}"))
            .execute(&mut *conn)
            .await;
        let Err(err) = tried else { break };
        let text = err.to_string();
        let untyped = text
            .split("could not determine data type of parameter $")
            .nth(1)
            .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
            .and_then(|n| n.parse::<usize>().ok());
        match untyped {
            Some(k) if types.get(k - 1).is_none_or(|t| *t == "unknown") => {
                types.resize(types.len().max(k), "unknown");
                types[k - 1] = "bigint";
            }
            Some(k) if types[k - 1] == "bigint" => types[k - 1] = "text",
            _ => return Err(text),
        }
    }
    let n: i32 = sqlx::query_scalar(
        "SELECT cardinality(parameter_types) FROM pg_prepared_statements WHERE name = 'plan_me'",
    )
    .fetch_one(&mut *conn)
    .await
    .map_err(e)?;
    let args = vec!["NULL"; n as usize].join(", ");
    let execute = if n > 0 {
        format!("EXPLAIN (FORMAT JSON) EXECUTE plan_me({args})")
    } else {
        "EXPLAIN (FORMAT JSON) EXECUTE plan_me".to_owned()
    };
    let plan = sqlx::query_scalar::<_, sqlx::types::Json<Value>>(&execute)
        .persistent(false)
        .fetch_one(&mut *conn)
        .await
        .map(|j| j.0)
        .map_err(e);
    sqlx::raw_sql("DEALLOCATE plan_me")
        .execute(&mut *conn)
        .await
        .map_err(e)?;
    plan
}

/// What is wrong with PostgreSQL's plan: each sequential scan of a big table, and each
/// index scan of one with no index condition outside a `Limit` (a whole index read).
fn pg_full_scans(plan: &Value) -> Vec<String> {
    fn walk(node: &Value, under_limit: bool, out: &mut Vec<String>) {
        let kind = node["Node Type"].as_str().unwrap_or_default();
        let table = node["Relation Name"].as_str().unwrap_or_default();
        if BIG.contains(&table) {
            let whole_index = matches!(kind, "Index Scan" | "Index Only Scan")
                && node.get("Index Cond").is_none()
                && !under_limit;
            if kind == "Seq Scan" || whole_index {
                out.push(format!(
                    "{table}: {kind}{}",
                    node["Index Name"]
                        .as_str()
                        .map(|i| format!(" using {i}"))
                        .unwrap_or_default()
                ));
            }
        }
        let under = under_limit || kind == "Limit";
        for child in node["Plans"].as_array().into_iter().flatten() {
            walk(child, under, out);
        }
    }
    let mut out = Vec::new();
    walk(&plan[0]["Plan"], false, &mut out);
    out
}

/// Fills a sandbox server with the demo's classes, a recovery job and a finished reconcile
/// run of the demo class. Answers the demo class.
async fn fill(t: &TestServer) -> (String, String) {
    let args = DemoArgs {
        url: t.base.clone(),
        token: ADMIN.into(),
        callback_key: Some(CALLBACK_KEY.into()),
        trtc_callback_key: None,
        if_empty: false,
        real_im: false,
        heartbeat_secs: 0,
    };
    let DemoOutcome::Made(d) = demo(&args).await.expect("demo runs") else {
        panic!("the demo fills an empty server");
    };
    let c = t.desk.console();
    c.recover(
        q(json!({"since_ms": 0, "class_id": d.broken_class_id})),
        &crate::util::by("plans-test"),
    )
    .await
    .expect("a recovery job");
    t.desk
        .reconcile_class(&d.class_id, q(json!({})), &crate::util::by("plans-test"))
        .await
        .expect("reconcile starts");
    let desk = t.desk.clone();
    let class = d.class_id.clone();
    wait_until(
        Duration::from_secs(30),
        "the reconcile run finishes",
        || {
            let desk = desk.clone();
            let class = class.clone();
            async move {
                desk.reconcile_status(&class)
                    .await
                    .ok()
                    .flatten()
                    .is_some_and(|r| r.finished_at.is_some())
            }
        },
    )
    .await;
    (d.class_id, d.broken_class_id)
}

/// Whether `scan` (as the checkers describe it, table first) on page `page` is accepted.
fn accepted(page: &str, scan: &str) -> bool {
    let base = page.split(['?', ' ']).next().unwrap_or(page);
    ACCEPTED.iter().any(|(p, table, _)| {
        (*p == page || (*p == base && !p.contains(' '))) && scan.starts_with(&format!("{table}:"))
    })
}

fn report(bad: &[String]) {
    assert!(
        bad.is_empty(),
        "{} statements read a whole big table:\n\n{}",
        bad.len(),
        bad.join("\n\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_pages_and_export_read_no_big_table_whole() {
    install_capture();
    let t = TestServer::start(|c| c.callback_key = Some(Secret::new(CALLBACK_KEY))).await;
    let (class_id, broken) = fill(&t).await;
    let db = t.dir.path().join("replaydesk.db");

    // SQLite.
    let mut pages = run_pages(&t.desk, &class_id).await;
    merge(&mut pages, run_pages(&t.desk, &broken).await);
    let mut bad = Vec::new();
    let mut checked = 0;
    for (p, statements) in &pages {
        for sql in statements.iter().filter(|s| is_dml(s)) {
            let plan = sqlite_plan(&db, sql)
                .await
                .unwrap_or_else(|e| panic!("{p}: cannot explain {sql}: {e}"));
            checked += 1;
            for scan in sqlite_full_scans(sql, &plan)
                .into_iter()
                .filter(|s| !accepted(p, s))
            {
                let shown: Vec<&str> = plan.iter().map(|(_, _, d)| d.as_str()).collect();
                bad.push(format!(
                    "[SQLite] page {p:?}: {scan}\n  statement: {sql}\n  plan: {}",
                    shown.join(" | ")
                ));
            }
        }
    }
    assert!(
        pages.contains_key("alignment") && pages.contains_key("export") && checked > 40,
        "the pages ran their statements ({checked} checked): {:?}",
        pages.keys().collect::<Vec<_>>()
    );

    // PostgreSQL: the same data, copied.
    if let Some(pg) = util::engines::postgres("query_plans").await {
        let from = t.store().clone();
        let to = Store::open(&pg.db()).await.expect("PostgreSQL store");
        from.copy_into(&to).await.expect("copy into PostgreSQL");
        to.close().await;
        // Pages only read: an IM service is there for the desk to start, never called.
        const SDKAPPID: u64 = 1_400_000_001;
        const KEY: &str = "query-plans-im-key-0123456789abcdef";
        let emu = replaydesk::emulator::Emulator::start(
            replaydesk::emulator::EmulatorConfig::new(SDKAPPID, KEY),
            "127.0.0.1:0".parse().unwrap(),
        )
        .await
        .expect("emulator starts");
        let mut config = util::server::test_config(t.dir.path());
        config.db = pg.db();
        config.im.endpoint = Some(emu.base_url());
        config.im.sdkappid = Some(SDKAPPID);
        config.im.secret_key = Some(Secret::new(KEY));
        let desk = ReplayDesk::start(config).await.expect("desk on PostgreSQL");
        let mut pages = run_pages(&desk, &class_id).await;
        merge(&mut pages, run_pages(&desk, &broken).await);
        let url = pg.db().to_string_lossy().into_owned();
        let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
        for set in [
            "SET plan_cache_mode = force_generic_plan",
            "SET enable_seqscan = off",
        ] {
            sqlx::query(set).execute(&mut conn).await.unwrap();
        }
        let mut checked = 0;
        for (p, statements) in &pages {
            for sql in statements.iter().filter(|s| is_dml(s)) {
                checked += 1;
                let plan = pg_plan(&mut conn, sql)
                    .await
                    .unwrap_or_else(|e| panic!("{p}: cannot explain on PostgreSQL {sql}: {e}"));
                for scan in pg_full_scans(&plan).into_iter().filter(|s| !accepted(p, s)) {
                    bad.push(format!(
                        "[PostgreSQL] page {p:?}: {scan}\n  statement: {sql}\n  plan: {plan}"
                    ));
                }
            }
        }
        assert!(checked > 40, "{checked} statements explained on PostgreSQL");
        let _ = conn.close().await;
        desk.shutdown().await;
    }
    report(&bad);
}

/// The checker itself: a join through an unindexed column is caught on both engines'
/// plan shapes, and a page walk stopped by LIMIT is not.
#[test]
fn the_checker_tells_a_full_scan_from_a_page_walk() {
    let join = "SELECT m.id FROM messages m LEFT JOIN timeline_reports r ON r.message_id = m.id WHERE m.class_id = $1";
    let plan = vec![
        (
            2,
            0,
            "SEARCH m USING INDEX messages_class_id (class_id=?)".to_owned(),
        ),
        (5, 0, "SCAN r".to_owned()),
    ];
    assert_eq!(sqlite_full_scans(join, &plan).len(), 1);
    let auto = vec![
        (
            2,
            0,
            "SEARCH m USING INDEX messages_class_id (class_id=?)".to_owned(),
        ),
        (
            5,
            0,
            "SEARCH r USING AUTOMATIC COVERING INDEX (message_id=?)".to_owned(),
        ),
    ];
    assert_eq!(sqlite_full_scans(join, &auto).len(), 1);
    let page = "SELECT id FROM messages WHERE 1 = 1 ORDER BY id DESC LIMIT $1";
    assert!(sqlite_full_scans(page, &[(2, 0, "SCAN messages".to_owned())]).is_empty());
    let next = "SELECT id FROM audit_log WHERE ($1 IS NULL OR id < $2) ORDER BY id DESC LIMIT $3";
    assert!(sqlite_full_scans(next, &[(2, 0, "SCAN audit_log".to_owned())]).is_empty());
    // A walk in id order that keeps only some rows reads on until it finds them.
    let find = "SELECT id FROM recording_callbacks WHERE message_id = $1 ORDER BY id LIMIT 1";
    let walk = [(2, 0, "SCAN recording_callbacks".to_owned())];
    assert_eq!(sqlite_full_scans(find, &walk).len(), 1);
    let sorted = vec![
        (2, 0, "SCAN messages".to_owned()),
        (9, 0, "USE TEMP B-TREE FOR ORDER BY".to_owned()),
    ];
    assert_eq!(
        sqlite_full_scans(
            "SELECT id FROM messages ORDER BY created_at LIMIT 5",
            &sorted
        )
        .len(),
        1
    );
    let pg = json!([{"Plan": {"Node Type": "Hash Join", "Plans": [
        {"Node Type": "Seq Scan", "Relation Name": "timeline_reports"},
        {"Node Type": "Index Scan", "Relation Name": "messages", "Index Cond": "(class_id = $1)"}
    ]}}]);
    assert_eq!(pg_full_scans(&pg), ["timeline_reports: Seq Scan"]);
    let pg_page = json!([{"Plan": {"Node Type": "Limit", "Plans": [
        {"Node Type": "Index Scan", "Relation Name": "messages", "Index Name": "messages_pkey"}
    ]}}]);
    assert!(pg_full_scans(&pg_page).is_empty());
}
