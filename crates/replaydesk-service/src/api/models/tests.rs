use super::*;
use crate::config::Config;
use crate::{ClassEventReport, ReplayDesk, ReportMeta, TimelineReport};
use serde_json::{json, Value};

const CLASS: &str = "c-models";

/// A sandbox desk on a fresh SQLite file with one class (legacy token on, so its row
/// holds a token hash and a credential key), a student with an issued credential, a
/// started class and a timeline report. Returns the credentials handed out.
async fn desk_with_a_class(dir: &std::path::Path) -> (ReplayDesk, Vec<String>) {
    let desk = ReplayDesk::start(Config {
        db: dir.join("models.db"),
        ..Config::default()
    })
    .await
    .unwrap();
    let console = desk.console();
    let created = console
        .create_class(
            serde_json::from_value(json!({
                "class_id": CLASS, "group_id": "g-models", "teacher_uid": "teacher_li",
                "legacy_class_token": true
            }))
            .unwrap(),
            &admin(),
        )
        .await
        .unwrap();
    console
        .add_members(
            CLASS,
            serde_json::from_value(json!({"uids": ["stu_1"]})).unwrap(),
            &admin(),
        )
        .await
        .unwrap();
    let student = console
        .member_credential(CLASS, "stu_1", &admin())
        .await
        .unwrap();
    desk.record_class_event(
        CLASS,
        store::ClassEvent::Start,
        ClassEventReport {
            uid: "teacher_li".into(),
            timestamp: 1_000,
        },
    )
    .await
    .unwrap();
    let now = store::now_ms();
    desk.record_timeline(
        CLASS,
        TimelineReport {
            uid: "stu_1".into(),
            timestamp: 2_000,
            rtt_ms: Some(40.0),
        },
        ReportMeta {
            received_at: now,
            body: r#"{"uid":"stu_1","timestamp":2000,"rtt_ms":40}"#.into(),
            kernel_rtt_ms: None,
        },
    )
    .await
    .unwrap();
    let mut secrets = vec![created.teacher_credential, student.credential];
    secrets.extend(created.report_token);
    (desk, secrets)
}

fn keys(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                out.push(k.clone());
                keys(v, out);
            }
        }
        Value::Array(a) => a.iter().for_each(|v| keys(v, out)),
        _ => {}
    }
}

/// The store's rows hold columns the API must never show (a class's token hash and
/// credential key, a message's lease); the models leave them out, and no credential
/// handed out earlier comes back in a view or in the exported bundle.
#[tokio::test]
async fn no_answer_shows_a_secret_or_internal_column() {
    let dir = tempfile::tempdir().unwrap();
    let (desk, secrets) = desk_with_a_class(dir.path()).await;
    let console = desk.console();
    let empty = || json!({});
    let message_id = console
        .list_messages(serde_json::from_value(empty()).unwrap())
        .await
        .unwrap()
        .items[0]
        .id;
    let answers = [
        serde_json::to_value(
            console
                .list_classes(serde_json::from_value(empty()).unwrap())
                .await
                .unwrap(),
        ),
        serde_json::to_value(console.get_class(CLASS).await.unwrap()),
        serde_json::to_value(console.class_members(CLASS).await.unwrap()),
        serde_json::to_value(
            console
                .class_reports(CLASS, serde_json::from_value(empty()).unwrap())
                .await
                .unwrap(),
        ),
        serde_json::to_value(
            console
                .class_messages(CLASS, serde_json::from_value(empty()).unwrap())
                .await
                .unwrap(),
        ),
        serde_json::to_value(console.get_message(message_id).await.unwrap()),
        serde_json::to_value(
            console
                .list_audit(serde_json::from_value(empty()).unwrap())
                .await
                .unwrap(),
        ),
        serde_json::to_value(console.list_alerts().await.unwrap()),
        serde_json::to_value(desk.export_class(CLASS).await.unwrap()),
    ];
    for answer in answers {
        let answer = answer.unwrap();
        let mut names = Vec::new();
        keys(&answer, &mut names);
        for column in [
            "report_token_sha256",
            "credential_key",
            "report_token",
            "lease_owner",
            "lease_until",
        ] {
            assert!(!names.iter().any(|n| n == column), "{column} in {answer:#}");
        }
        let text = answer.to_string();
        for secret in &secrets {
            assert!(!text.contains(secret.as_str()), "a credential in {text}");
        }
    }
    desk.shutdown().await;
}

/// Each model writes exactly the JSON its row wrote when the rows were the API (the
/// rows still derive `Serialize` for the store's own use), so the console and the
/// bundles read on, unchanged; and the bundle's models read back into the same rows.
#[tokio::test]
async fn each_model_writes_the_json_its_row_did() {
    fn same<R: Serialize + Clone, M: Serialize + From<R>>(rows: &[R]) {
        assert!(!rows.is_empty());
        for r in rows {
            assert_eq!(
                serde_json::to_value(M::from(r.clone())).unwrap(),
                serde_json::to_value(r).unwrap()
            );
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let (desk, _) = desk_with_a_class(dir.path()).await;
    let s = desk.store();
    let class = s.class(CLASS).await.unwrap();
    same::<_, ClassRecord>(std::slice::from_ref(&class));
    same::<_, Member>(&s.members(CLASS).await.unwrap());
    same::<_, RosterMember>(&s.roster(CLASS).await.unwrap());
    let filter = store::MessageFilter {
        class_id: Some(CLASS.into()),
        statuses: store::MessageStatus::ALL.to_vec(),
        ..Default::default()
    };
    let page = s.list_messages(&filter, None, 100).await.unwrap();
    same::<_, Page<StoredMessage>>(std::slice::from_ref(&page));
    same::<_, MessageFilter>(std::slice::from_ref(&filter));
    same::<_, Page<TimelineReportRecord>>(&[s.timeline_reports(CLASS, None, 100).await.unwrap()]);
    same::<_, ReportFacts>(&s.report_facts(CLASS).await.unwrap());
    same::<_, AuditEntry>(
        &s.audit_log_filtered(None, 100, Default::default())
            .await
            .unwrap(),
    );
    // Every variant of every mirrored enumeration, by its name on the wire.
    macro_rules! variants {
        ($($e:ident),+) => {$(same::<_, $e>(store::$e::ALL);)+};
    }
    variants!(
        MessageStatus,
        Trigger,
        AttemptOutcome,
        ClassState,
        MemberRole,
        JobKind,
        JobState,
        CallbackStatus,
        ReconcileState
    );
    // Back: a bundle's class and messages become the rows they came from.
    assert_eq!(
        store::ClassRecord::from(ClassRecord::from(class.clone())),
        class
    );
    for m in page.items {
        assert_eq!(
            store::StoredMessage::from(StoredMessage::from(m.clone())),
            m
        );
    }
    desk.shutdown().await;
}

/// The actor of these calls: the bootstrap token's.
fn admin() -> replaydesk_store::Actor {
    replaydesk_store::Actor::new("admin", replaydesk_store::Door::BootstrapToken)
}
