//! Conformance suites for the ports. Every adapter runs them; an adapter is done when it
//! passes. Each check gets a fresh store from the factory.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use crate::api_keys::{ApiKeyChanges, NewApiKey, Permission};
use crate::domain::{
    DocumentType, NewUser, NewVerification, PageRequest, Role, Status, UserChanges,
    VerificationFilter,
};
use crate::error::Error;
use crate::events::{Event, EventFacts, EventKind, NewEvent, Step};
use crate::idempotency::{Begin, StoredResponse};
use crate::logs::{Event as LogEvent, Level, LogFilter, NewLogEntry};
use crate::ports::{BlobStore, Job, JobQueue, Store, UserStore, VerificationStore};
use crate::verifications::unscored_result;

fn new_user(email: &str) -> NewUser {
    NewUser {
        email: email.to_string(),
        full_name: "Test Person".to_string(),
        role: Role::User,
        password_hash: "$argon2id$placeholder".to_string(),
    }
}

fn new_verification(user_id: i64, prefix: &str) -> NewVerification {
    NewVerification {
        user_id,
        document_type: DocumentType::Passport,
        blob_prefix: prefix.to_string(),
        has_back: false,
    }
}

/// Runs every store check against fresh stores made by `factory`.
pub async fn store_suite<S, F, Fut>(factory: F)
where
    S: Store,
    F: Fn() -> Fut,
    Fut: Future<Output = Arc<S>>,
{
    users_round_trip(&*factory().await).await;
    emails_are_unique_without_regard_to_case(&*factory().await).await;
    users_page_in_id_order(&*factory().await).await;
    deleting_a_user_deletes_their_verifications(&*factory().await).await;
    verifications_filter_and_page(&*factory().await).await;
    jobs_are_claimed_once_and_completed_once(&*factory().await).await;
    expired_leases_are_claimed_again(&*factory().await).await;
    concurrent_claims_never_share_a_job(factory().await).await;
    deleting_a_verification_drops_its_job(&*factory().await).await;
    api_keys_round_trip(&*factory().await).await;
    logs_filter_page_and_purge(&*factory().await).await;
    idempotency_records_replay_and_expire(&*factory().await).await;
    changes_write_their_events(&*factory().await).await;
    events_append_count_and_page(&*factory().await).await;
}

fn kinds(events: &[Event]) -> Vec<EventKind> {
    events.iter().map(|e| e.kind).collect()
}

async fn changes_write_their_events<S: Store>(store: &S) {
    assert_eq!(store.last_event_id().await.unwrap(), 0);
    let ann = store
        .create_user(new_user("ann@example.com"))
        .await
        .unwrap();
    let v = store
        .create_verification(new_verification(ann.id, "v/1"))
        .await
        .unwrap();
    let created = store.events_after(0, 100).await.unwrap();
    assert_eq!(kinds(&created), vec![EventKind::VerificationCreated]);
    let data = created[0].data();
    assert_eq!(
        (data["id"].as_i64(), data["status"].as_str()),
        (Some(v.id), Some("pending"))
    );

    let job = store
        .claim_job(Duration::from_secs(60))
        .await
        .unwrap()
        .unwrap();
    let stale = Job {
        claim_token: "not-the-claim".into(),
        ..job.clone()
    };
    assert!(!store
        .complete_job(&stale, Status::Approved, &unscored_result())
        .await
        .unwrap());
    assert_eq!(
        store.events_after(0, 100).await.unwrap().len(),
        1,
        "a lost claim writes nothing"
    );
    assert!(store
        .complete_job(&job, Status::Approved, &unscored_result())
        .await
        .unwrap());
    let reviewed = store
        .set_outcome(v.id, Status::Rejected, &unscored_result())
        .await
        .unwrap();

    let owner = store
        .create_user(new_user("admin@example.com"))
        .await
        .unwrap();
    let key = NewApiKey {
        name: "k".into(),
        permissions: vec![Permission::Read],
        prefix: "idv_0000abcd".into(),
        key_hash: "h".into(),
        owner_id: owner.id,
        expires_at: None,
    };
    let key = store.create_api_key(key).await.unwrap();
    store.delete_api_key(key.id).await.unwrap();
    store.delete_user(ann.id).await.unwrap();

    let events = store.events_after(0, 100).await.unwrap();
    assert_eq!(
        kinds(&events),
        vec![
            EventKind::VerificationCreated,
            EventKind::VerificationStatusChanged,
            EventKind::VerificationStatusChanged,
            EventKind::ApiKeyRevoked,
            EventKind::UserDeleted,
        ]
    );
    assert!(events.windows(2).all(|w| w[0].id < w[1].id), "ids increase");
    assert_eq!(events[1].facts.status, Some(Status::Approved));
    assert_eq!(events[2].facts.status, Some(Status::Rejected));
    assert_eq!(events[2].created_at, reviewed.updated_at);
    assert_eq!(events[2].facts.subject_created_at, Some(v.created_at));
    assert_eq!(
        (events[3].facts.api_key_id, events[3].facts.user_id),
        (Some(key.id), Some(owner.id))
    );
    assert_eq!(events[4].facts.user_id, Some(ann.id));
}

async fn events_append_count_and_page<S: Store>(store: &S) {
    let at = crate::domain::now();
    let progress = |step| NewEvent {
        kind: EventKind::VerificationProgress,
        facts: EventFacts {
            user_id: Some(3),
            verification_id: Some(9),
            step: Some(step),
            ..EventFacts::default()
        },
        created_at: at,
    };
    let first = store.append_event(progress(Step::Decoding)).await.unwrap();
    let second = store
        .append_event(progress(Step::FaceDetection))
        .await
        .unwrap();
    assert!(first.id < second.id);
    assert_eq!(second.facts.step, Some(Step::FaceDetection));
    let after_first = store.events_after(first.id, 10).await.unwrap();
    assert_eq!(after_first, vec![second.clone()]);
    assert_eq!(store.events_after(0, 1).await.unwrap(), vec![first.clone()]);
    assert!(store.events_after(second.id, 10).await.unwrap().is_empty());
    assert_eq!(store.last_event_id().await.unwrap(), second.id);
    // Events after `first` exist: no waiting (the bound only keeps a broken store from hanging).
    let waited = tokio::time::timeout(
        Duration::from_secs(30),
        store.wait_for_events(first.id, Duration::from_secs(3600)),
    );
    waited
        .await
        .expect("returns at once when events exist")
        .unwrap();
    store
        .wait_for_events(second.id, Duration::from_millis(10))
        .await
        .unwrap();

    let hour = chrono::Duration::hours(1);
    let kind = EventKind::VerificationProgress;
    assert_eq!(
        store.count_events(kind, 3, None, at - hour).await.unwrap(),
        2
    );
    assert_eq!(
        store.count_events(kind, 3, None, at + hour).await.unwrap(),
        0
    );
    assert_eq!(
        store.count_events(kind, 4, None, at - hour).await.unwrap(),
        0
    );
    let rejected = Some(Status::Rejected);
    assert_eq!(
        store
            .count_events(kind, 3, rejected, at - hour)
            .await
            .unwrap(),
        0
    );
}

async fn api_keys_round_trip<S: Store>(store: &S) {
    let owner = store
        .create_user(new_user("admin@example.com"))
        .await
        .unwrap();
    let new = NewApiKey {
        name: "Mobile App".into(),
        permissions: vec![Permission::Read, Permission::Write],
        prefix: "idv_0000abcd".into(),
        key_hash: "hash-1".into(),
        owner_id: owner.id,
        expires_at: None,
    };
    let key = store.create_api_key(new.clone()).await.unwrap();
    assert_eq!(
        (key.name.as_str(), key.permissions.clone(), key.last_used_at),
        ("Mobile App", new.permissions.clone(), None)
    );
    assert_eq!(store.get_api_key(key.id).await.unwrap(), key);
    assert_eq!(
        store.find_api_key("idv_0000abcd").await.unwrap(),
        Some(key.clone())
    );
    assert_eq!(store.find_api_key("idv_ffffffff").await.unwrap(), None);

    let changes = ApiKeyChanges {
        name: Some("Web".into()),
        permissions: Some(vec![Permission::Read]),
    };
    let changed = store.update_api_key(key.id, changes).await.unwrap();
    assert_eq!(
        (changed.name.as_str(), changed.permissions.clone()),
        ("Web", vec![Permission::Read])
    );
    let used_at = crate::domain::now();
    store.touch_api_key(key.id, used_at).await.unwrap();
    assert_eq!(
        store.get_api_key(key.id).await.unwrap().last_used_at,
        Some(used_at)
    );

    let second = NewApiKey {
        prefix: "idv_0000beef".into(),
        key_hash: "hash-2".into(),
        ..new.clone()
    };
    let second = store.create_api_key(second).await.unwrap();
    let page = store
        .list_api_keys(PageRequest {
            page: 1,
            per_page: 10,
        })
        .await
        .unwrap();
    assert_eq!(
        page.items.iter().map(|k| k.id).collect::<Vec<_>>(),
        vec![key.id, second.id]
    );

    store.delete_api_key(key.id).await.unwrap();
    assert!(matches!(
        store.get_api_key(key.id).await,
        Err(Error::NotFound { .. })
    ));
    assert_eq!(store.find_api_key("idv_0000abcd").await.unwrap(), None);
    assert!(matches!(
        store.delete_api_key(key.id).await,
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        store.update_api_key(key.id, ApiKeyChanges::default()).await,
        Err(Error::NotFound { .. })
    ));
    store.touch_api_key(key.id, used_at).await.unwrap();
    let orphan = NewApiKey {
        owner_id: owner.id + 1000,
        prefix: "idv_00000001".into(),
        ..new
    };
    assert!(matches!(
        store.create_api_key(orphan).await,
        Err(Error::NotFound { .. })
    ));
}

async fn logs_filter_page_and_purge<S: Store>(store: &S) {
    let at = |s: &str| {
        chrono::DateTime::parse_from_rfc3339(s)
            .unwrap()
            .with_timezone(&chrono::Utc)
    };
    let entry = |t: &str, level: Level| NewLogEntry {
        timestamp: at(t),
        level,
        event: LogEvent::LoginFailed,
        message: format!("entry at {t}"),
        user_id: Some(7),
    };
    for (t, level) in [
        ("2026-01-01T10:00:00Z", Level::Info),
        ("2026-01-02T00:00:00Z", Level::Warn),
        ("2026-01-02T23:59:59.999Z", Level::Info),
        ("2026-01-03T00:00:00Z", Level::Error),
    ] {
        let stored = store.append_log(entry(t, level)).await.unwrap();
        assert_eq!(
            (stored.timestamp, stored.level, stored.user_id),
            (at(t), level, Some(7))
        );
    }
    let all = PageRequest {
        page: 1,
        per_page: 10,
    };
    let day = LogFilter {
        from: Some(at("2026-01-02T00:00:00Z")),
        to: Some(at("2026-01-03T00:00:00Z")),
        level: None,
    };
    let page = store.list_logs(day, all).await.unwrap();
    let messages: Vec<_> = page.items.iter().map(|e| e.message.as_str()).collect();
    assert_eq!(
        messages,
        vec![
            "entry at 2026-01-02T00:00:00Z",
            "entry at 2026-01-02T23:59:59.999Z"
        ]
    );
    let infos = LogFilter {
        level: Some(Level::Info),
        ..LogFilter::default()
    };
    assert_eq!(store.list_logs(infos, all).await.unwrap().total, 2);
    let second = store
        .list_logs(
            LogFilter::default(),
            PageRequest {
                page: 2,
                per_page: 3,
            },
        )
        .await
        .unwrap();
    assert_eq!((second.total, second.items.len()), (4, 1));

    assert_eq!(
        store.purge_logs(at("2026-01-02T12:00:00Z")).await.unwrap(),
        2
    );
    assert_eq!(
        store
            .list_logs(LogFilter::default(), all)
            .await
            .unwrap()
            .total,
        2
    );
}

async fn idempotency_records_replay_and_expire<S: Store>(store: &S) {
    let now = crate::domain::now();
    let hour = chrono::Duration::hours(1);
    let expired_before = now - hour * 24;
    let begin = |scope: &'static str, key: &'static str, fp: &'static str, at| {
        store.begin_request(scope, key, fp, at, at - hour * 24)
    };
    assert_eq!(
        begin("user:1", "k1", "fp-a", now).await.unwrap(),
        Begin::Proceed
    );
    assert_eq!(
        begin("user:1", "k1", "fp-a", now).await.unwrap(),
        Begin::InProgress
    );
    assert_eq!(
        begin("user:1", "k1", "fp-b", now).await.unwrap(),
        Begin::Mismatch
    );
    assert_eq!(
        begin("user:2", "k1", "fp-b", now).await.unwrap(),
        Begin::Proceed,
        "keys are per scope"
    );

    let response = StoredResponse {
        status: 201,
        body: b"{\"id\":1}".to_vec(),
        location: Some("/v1/x/1".into()),
    };
    store
        .finish_request("user:1", "k1", &response)
        .await
        .unwrap();
    assert_eq!(
        begin("user:1", "k1", "fp-a", now).await.unwrap(),
        Begin::Replay(response)
    );

    store.abandon_request("user:2", "k1").await.unwrap();
    assert_eq!(
        begin("user:2", "k1", "fp-c", now).await.unwrap(),
        Begin::Proceed
    );

    let later = now + hour * 25;
    assert_eq!(
        begin("user:1", "k1", "fp-b", later).await.unwrap(),
        Begin::Proceed,
        "expired records are forgotten"
    );
    assert!(
        store
            .purge_requests(expired_before + hour * 48)
            .await
            .unwrap()
            >= 1
    );
}

async fn users_round_trip<S: UserStore>(store: &S) {
    let created = store
        .create_user(new_user("ann@example.com"))
        .await
        .unwrap();
    assert!(created.id > 0);
    assert_eq!(store.get_user(created.id).await.unwrap(), created);
    let found = store.find_user_by_email("ANN@example.com").await.unwrap();
    assert_eq!(found.map(|u| u.id), Some(created.id));

    let changes = UserChanges {
        full_name: Some("Ann B".into()),
        ..UserChanges::default()
    };
    let updated = store.update_user(created.id, changes).await.unwrap();
    assert_eq!(updated.full_name, "Ann B");
    assert_eq!(updated.email, "ann@example.com");
    assert_eq!(updated.created_at, created.created_at);

    let missing = store
        .update_user(created.id + 1000, UserChanges::default())
        .await;
    assert!(matches!(missing, Err(Error::NotFound { .. })));
    assert!(matches!(
        store.get_user(created.id + 1000).await,
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        store.delete_user(created.id + 1000).await,
        Err(Error::NotFound { .. })
    ));
}

async fn emails_are_unique_without_regard_to_case<S: UserStore>(store: &S) {
    let ann = store
        .create_user(new_user("ann@example.com"))
        .await
        .unwrap();
    let twin = store.create_user(new_user("Ann@Example.COM")).await;
    assert!(matches!(twin, Err(Error::Conflict { .. })), "{twin:?}");
    let tagged = store
        .create_user(new_user("ann+x@example.com"))
        .await
        .unwrap();
    let steal = UserChanges {
        email: Some("ANN@example.com".into()),
        ..UserChanges::default()
    };
    assert!(matches!(
        store.update_user(tagged.id, steal).await,
        Err(Error::Conflict { .. })
    ));
    let own = UserChanges {
        email: Some("ANN@example.com".into()),
        ..UserChanges::default()
    };
    assert_eq!(
        store.update_user(ann.id, own).await.unwrap().email,
        "ANN@example.com"
    );
}

async fn users_page_in_id_order<S: UserStore>(store: &S) {
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(
            store
                .create_user(new_user(&format!("p{i}@example.com")))
                .await
                .unwrap()
                .id,
        );
    }
    let page = store
        .list_users(PageRequest {
            page: 2,
            per_page: 2,
        })
        .await
        .unwrap();
    assert_eq!(page.total, 5);
    assert_eq!(page.total_pages(), 3);
    assert_eq!(
        page.items.iter().map(|u| u.id).collect::<Vec<_>>(),
        ids[2..4]
    );
    let past = store
        .list_users(PageRequest {
            page: 9,
            per_page: 2,
        })
        .await
        .unwrap();
    assert!(past.items.is_empty());
    assert_eq!(past.total, 5);
}

async fn deleting_a_user_deletes_their_verifications<S>(store: &S)
where
    S: UserStore + VerificationStore + JobQueue,
{
    let ann = store
        .create_user(new_user("ann@example.com"))
        .await
        .unwrap();
    let bob = store
        .create_user(new_user("bob@example.com"))
        .await
        .unwrap();
    let v1 = store
        .create_verification(new_verification(ann.id, "v/a1"))
        .await
        .unwrap();
    store
        .create_verification(new_verification(ann.id, "v/a2"))
        .await
        .unwrap();
    let kept = store
        .create_verification(new_verification(bob.id, "v/b1"))
        .await
        .unwrap();

    let mut prefixes = store.delete_user(ann.id).await.unwrap();
    prefixes.sort();
    assert_eq!(prefixes, vec!["v/a1".to_string(), "v/a2".to_string()]);
    assert!(matches!(
        store.get_verification(v1.id).await,
        Err(Error::NotFound { .. })
    ));
    assert!(store.get_verification(kept.id).await.is_ok());
    let job = store
        .claim_job(Duration::from_secs(60))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        job.verification_id, kept.id,
        "jobs of the deleted user must go too"
    );
}

async fn verifications_filter_and_page<S: UserStore + VerificationStore>(store: &S) {
    let ann = store
        .create_user(new_user("ann@example.com"))
        .await
        .unwrap();
    let bob = store
        .create_user(new_user("bob@example.com"))
        .await
        .unwrap();
    let a1 = store
        .create_verification(new_verification(ann.id, "v/1"))
        .await
        .unwrap();
    assert_eq!(a1.status, Status::Pending);
    assert_eq!(a1.result, None);
    let b1 = store
        .create_verification(new_verification(bob.id, "v/2"))
        .await
        .unwrap();
    let a2 = store
        .create_verification(new_verification(ann.id, "v/3"))
        .await
        .unwrap();
    assert!(a1.id < b1.id && b1.id < a2.id);

    let mut result = unscored_result();
    result.face_match_score = Some(0.75);
    let decided = store
        .set_outcome(b1.id, Status::Approved, &result)
        .await
        .unwrap();
    assert_eq!(decided.status, Status::Approved);
    assert_eq!(decided.result.as_ref(), Some(&result));
    assert_eq!(
        store.get_verification(b1.id).await.unwrap().result,
        Some(result)
    );

    let all = PageRequest {
        page: 1,
        per_page: 10,
    };
    let annes = VerificationFilter {
        user_id: Some(ann.id),
        status: None,
    };
    let page = store.list_verifications(annes, all).await.unwrap();
    assert_eq!(
        page.items.iter().map(|v| v.id).collect::<Vec<_>>(),
        vec![a1.id, a2.id]
    );
    let approved = VerificationFilter {
        user_id: None,
        status: Some(Status::Approved),
    };
    let page = store.list_verifications(approved, all).await.unwrap();
    assert_eq!(
        page.items.iter().map(|v| v.id).collect::<Vec<_>>(),
        vec![b1.id]
    );
    let second = PageRequest {
        page: 2,
        per_page: 2,
    };
    let page = store
        .list_verifications(VerificationFilter::default(), second)
        .await
        .unwrap();
    assert_eq!((page.total, page.items.len()), (3, 1));

    let orphan = store
        .create_verification(new_verification(ann.id + 1000, "v/x"))
        .await;
    assert!(matches!(orphan, Err(Error::NotFound { .. })));
    let missing = store
        .set_outcome(a2.id + 1000, Status::Approved, &unscored_result())
        .await;
    assert!(matches!(missing, Err(Error::NotFound { .. })));
}

async fn jobs_are_claimed_once_and_completed_once<S>(store: &S)
where
    S: UserStore + VerificationStore + JobQueue,
{
    let lease = Duration::from_secs(60);
    assert!(store.claim_job(lease).await.unwrap().is_none());
    let ann = store
        .create_user(new_user("ann@example.com"))
        .await
        .unwrap();
    let first = store
        .create_verification(new_verification(ann.id, "v/1"))
        .await
        .unwrap();
    let second = store
        .create_verification(new_verification(ann.id, "v/2"))
        .await
        .unwrap();

    let job = store.claim_job(lease).await.unwrap().unwrap();
    assert_eq!((job.verification_id, job.attempts), (first.id, 1));
    assert_eq!(
        store.get_verification(first.id).await.unwrap().status,
        Status::Processing
    );
    let next = store.claim_job(lease).await.unwrap().unwrap();
    assert_eq!(
        next.verification_id, second.id,
        "a held job is not handed out twice"
    );
    assert!(store.claim_job(lease).await.unwrap().is_none());

    let result = unscored_result();
    assert!(store
        .complete_job(&job, Status::Rejected, &result)
        .await
        .unwrap());
    assert!(!store
        .complete_job(&job, Status::Approved, &result)
        .await
        .unwrap());
    let stored = store.get_verification(first.id).await.unwrap();
    assert_eq!(stored.status, Status::Rejected);
    assert_eq!(stored.result, Some(result));
}

async fn expired_leases_are_claimed_again<S>(store: &S)
where
    S: UserStore + VerificationStore + JobQueue,
{
    let ann = store
        .create_user(new_user("ann@example.com"))
        .await
        .unwrap();
    let v = store
        .create_verification(new_verification(ann.id, "v/1"))
        .await
        .unwrap();
    let stale = store
        .claim_job(Duration::from_millis(50))
        .await
        .unwrap()
        .unwrap();
    assert!(store
        .claim_job(Duration::from_secs(60))
        .await
        .unwrap()
        .is_none());
    tokio::time::sleep(Duration::from_millis(1200)).await;

    let fresh = store
        .claim_job(Duration::from_secs(60))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((fresh.verification_id, fresh.attempts), (v.id, 2));
    assert_ne!(fresh.claim_token, stale.claim_token);
    let result = unscored_result();
    assert!(!store
        .complete_job(&stale, Status::Approved, &result)
        .await
        .unwrap());
    assert!(store
        .complete_job(&fresh, Status::Review, &result)
        .await
        .unwrap());
    assert_eq!(
        store.get_verification(v.id).await.unwrap().status,
        Status::Review
    );
}

async fn concurrent_claims_never_share_a_job<S>(store: Arc<S>)
where
    S: UserStore + VerificationStore + JobQueue,
{
    let ann = store
        .create_user(new_user("ann@example.com"))
        .await
        .unwrap();
    for i in 0..20 {
        store
            .create_verification(new_verification(ann.id, &format!("v/{i}")))
            .await
            .unwrap();
    }
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            while let Some(job) = store.claim_job(Duration::from_secs(60)).await.unwrap() {
                mine.push(job.verification_id);
            }
            mine
        }));
    }
    let mut claimed = Vec::new();
    for task in tasks {
        claimed.extend(task.await.unwrap());
    }
    claimed.sort();
    let before = claimed.len();
    claimed.dedup();
    assert_eq!((before, claimed.len()), (20, 20));
}

async fn deleting_a_verification_drops_its_job<S>(store: &S)
where
    S: UserStore + VerificationStore + JobQueue,
{
    let ann = store
        .create_user(new_user("ann@example.com"))
        .await
        .unwrap();
    let v = store
        .create_verification(new_verification(ann.id, "v/1"))
        .await
        .unwrap();
    let job = store
        .claim_job(Duration::from_secs(60))
        .await
        .unwrap()
        .unwrap();
    let deleted = store.delete_verification(v.id).await.unwrap();
    assert_eq!(deleted.blob_prefix, "v/1");
    assert!(!store
        .complete_job(&job, Status::Approved, &unscored_result())
        .await
        .unwrap());
    assert!(matches!(
        store.delete_verification(v.id).await,
        Err(Error::NotFound { .. })
    ));
    assert!(store
        .claim_job(Duration::from_millis(1))
        .await
        .unwrap()
        .is_none());
}

/// Runs every blob-store check. The store must be empty under `verifications/`.
pub async fn blob_suite(store: Arc<dyn BlobStore>) {
    store.put("suite/a/front", b"front".to_vec()).await.unwrap();
    store
        .put("suite/a/selfie", b"selfie".to_vec())
        .await
        .unwrap();
    store
        .put("suite/ab/selfie", b"other".to_vec())
        .await
        .unwrap();
    assert_eq!(store.get("suite/a/front").await.unwrap(), b"front");
    store
        .put("suite/a/front", b"replaced".to_vec())
        .await
        .unwrap();
    assert_eq!(store.get("suite/a/front").await.unwrap(), b"replaced");

    store.delete_prefix("suite/a").await.unwrap();
    assert!(matches!(
        store.get("suite/a/front").await,
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        store.get("suite/a/selfie").await,
        Err(Error::NotFound { .. })
    ));
    assert_eq!(
        store.get("suite/ab/selfie").await.unwrap(),
        b"other",
        "prefix is a folder"
    );
    store.delete_prefix("suite/never-there").await.unwrap();
    assert!(store.put("suite/../escape", b"x".to_vec()).await.is_err());
    store.delete_prefix("suite/ab").await.unwrap();
}

/// Runs every webhook-store check against fresh stores made by `factory`.
pub async fn webhook_suite<S, F, Fut>(factory: F)
where
    S: crate::ports::WebhookStore,
    F: Fn() -> Fut,
    Fut: Future<Output = Arc<S>>,
{
    endpoints_round_trip(&*factory().await).await;
    fan_out_is_compare_and_set(&*factory().await).await;
    deliveries_are_claimed_retried_and_settled(&*factory().await).await;
    concurrent_delivery_claims_never_share(factory().await).await;
}

fn endpoint(url: &str, events: Vec<EventKind>) -> crate::webhooks::NewWebhookEndpoint {
    crate::webhooks::NewWebhookEndpoint {
        url: url.to_string(),
        events,
        secret: crate::auth::Secret::new("whsec_suite"),
    }
}

async fn endpoints_round_trip<S: crate::ports::WebhookStore>(store: &S) {
    let kinds = vec![
        EventKind::VerificationStatusChanged,
        EventKind::SuspiciousActivity,
    ];
    let a = store
        .create_endpoint(endpoint("https://a.example.com/hook", kinds.clone()))
        .await
        .unwrap();
    let b = store
        .create_endpoint(endpoint("https://b.example.com/hook", vec![]))
        .await
        .unwrap();
    assert!(a.id < b.id);
    assert_eq!(
        (a.url.as_str(), a.events.clone()),
        ("https://a.example.com/hook", kinds)
    );
    assert_eq!(a.secret.expose(), "whsec_suite");
    assert_eq!(store.get_endpoint(a.id).await.unwrap(), a);
    let page = store
        .list_endpoints(PageRequest {
            page: 1,
            per_page: 10,
        })
        .await
        .unwrap();
    assert_eq!(
        page.items.iter().map(|e| e.id).collect::<Vec<_>>(),
        vec![a.id, b.id]
    );
    store.delete_endpoint(a.id).await.unwrap();
    assert!(matches!(
        store.get_endpoint(a.id).await,
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        store.delete_endpoint(a.id).await,
        Err(Error::NotFound { .. })
    ));
}

async fn fan_out_is_compare_and_set<S: crate::ports::WebhookStore>(store: &S) {
    let now = crate::domain::now();
    let a = store
        .create_endpoint(endpoint("https://a.example.com/hook", vec![]))
        .await
        .unwrap();
    assert_eq!(store.fan_out_cursor().await.unwrap(), 0);
    assert!(store
        .add_deliveries(0, 5, &[(a.id, 3), (a.id, 5)], now)
        .await
        .unwrap());
    assert_eq!(store.fan_out_cursor().await.unwrap(), 5);
    assert!(
        !store.add_deliveries(0, 9, &[(a.id, 7)], now).await.unwrap(),
        "stale cursor"
    );
    assert!(
        store
            .add_deliveries(5, 9, &[(a.id + 1000, 7)], now)
            .await
            .unwrap(),
        "gone endpoint"
    );
    let page = store
        .list_deliveries(
            Some(a.id),
            PageRequest {
                page: 1,
                per_page: 10,
            },
        )
        .await
        .unwrap();
    let events: Vec<i64> = page.items.iter().map(|d| d.event_id).collect();
    assert_eq!(events, vec![5, 3], "newest first");
    assert!(page
        .items
        .iter()
        .all(|d| d.status == crate::webhooks::DeliveryStatus::Pending && d.attempts == 0));
    let all = store
        .list_deliveries(
            None,
            PageRequest {
                page: 1,
                per_page: 10,
            },
        )
        .await
        .unwrap();
    assert_eq!(all.total, 2);
}

async fn deliveries_are_claimed_retried_and_settled<S: crate::ports::WebhookStore>(store: &S) {
    use crate::webhooks::{AttemptOutcome, DeliveryAttempt, DeliveryStatus};
    let now = crate::domain::now();
    let second = chrono::Duration::seconds(1);
    let lease = Duration::from_secs(60);
    let a = store
        .create_endpoint(endpoint("https://a.example.com/hook", vec![]))
        .await
        .unwrap();
    assert!(store.claim_delivery(lease, now).await.unwrap().is_none());
    assert!(store
        .add_deliveries(0, 2, &[(a.id, 1), (a.id, 2)], now)
        .await
        .unwrap());

    let first = store.claim_delivery(lease, now).await.unwrap().unwrap();
    assert_eq!(first.delivery.event_id, 1, "due longest first");
    let other = store.claim_delivery(lease, now).await.unwrap().unwrap();
    assert_eq!(other.delivery.event_id, 2);
    assert!(
        store.claim_delivery(lease, now).await.unwrap().is_none(),
        "both are held"
    );

    let attempt = |number, code: Option<u16>, error: Option<&str>| DeliveryAttempt {
        delivery_id: first.delivery.id,
        number,
        at: now,
        status_code: code,
        error: error.map(str::to_string),
        duration_ms: 12,
    };
    let retry_at = now + second * 10;
    let failed = attempt(1, Some(500), Some("HTTP 500"));
    assert!(store
        .record_attempt(&first, &failed, &AttemptOutcome::Retry(retry_at))
        .await
        .unwrap());
    assert!(
        !store
            .record_attempt(&first, &failed, &AttemptOutcome::Delivered)
            .await
            .unwrap(),
        "claim released"
    );
    let waiting = store.get_delivery(first.delivery.id).await.unwrap();
    assert_eq!(
        (waiting.status, waiting.attempts, waiting.next_attempt_at),
        (DeliveryStatus::Pending, 1, retry_at)
    );
    assert_eq!(waiting.last_error.as_deref(), Some("HTTP 500"));
    assert!(
        store.claim_delivery(lease, now).await.unwrap().is_none(),
        "not due yet"
    );

    let again = store
        .claim_delivery(lease, retry_at)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again.delivery.id, first.delivery.id);
    assert!(store
        .record_attempt(
            &again,
            &attempt(2, Some(204), None),
            &AttemptOutcome::Delivered
        )
        .await
        .unwrap());
    let done = store.get_delivery(first.delivery.id).await.unwrap();
    assert_eq!((done.status, done.attempts), (DeliveryStatus::Delivered, 2));
    assert!(done.delivered_at.is_some());
    let attempts = store.list_attempts(first.delivery.id).await.unwrap();
    assert_eq!(
        attempts
            .iter()
            .map(|a| (a.number, a.status_code))
            .collect::<Vec<_>>(),
        vec![(1, Some(500)), (2, Some(204))]
    );
    assert_eq!(attempts[0].error.as_deref(), Some("HTTP 500"));

    assert!(store
        .record_attempt(
            &other,
            &attempt(1, None, Some("timeout")),
            &AttemptOutcome::Failed
        )
        .await
        .unwrap());
    assert_eq!(
        store.get_delivery(other.delivery.id).await.unwrap().status,
        DeliveryStatus::Failed
    );
    let later = now + second * 100;
    let resent = store.redeliver(other.delivery.id, later).await.unwrap();
    assert_eq!(
        (resent.status, resent.next_attempt_at, resent.retry_since),
        (DeliveryStatus::Pending, later, later)
    );
    let reclaimed = store.claim_delivery(lease, later).await.unwrap().unwrap();
    assert_eq!(reclaimed.delivery.id, other.delivery.id);
    assert!(matches!(
        store.redeliver(other.delivery.id + 1000, later).await,
        Err(Error::NotFound { .. })
    ));

    let expired = store
        .claim_delivery(Duration::from_millis(1), later + second * 120)
        .await
        .unwrap();
    assert_eq!(
        expired.map(|c| c.delivery.id),
        Some(other.delivery.id),
        "an expired lease is claimed again"
    );
    store.delete_endpoint(a.id).await.unwrap();
    assert!(matches!(
        store.get_delivery(first.delivery.id).await,
        Err(Error::NotFound { .. })
    ));
}

async fn concurrent_delivery_claims_never_share<S: crate::ports::WebhookStore>(store: Arc<S>) {
    let now = crate::domain::now();
    let a = store
        .create_endpoint(endpoint("https://a.example.com/hook", vec![]))
        .await
        .unwrap();
    let pairs: Vec<(i64, i64)> = (1..=20).map(|e| (a.id, e)).collect();
    assert!(store.add_deliveries(0, 20, &pairs, now).await.unwrap());
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            while let Some(claim) = store
                .claim_delivery(Duration::from_secs(60), now)
                .await
                .unwrap()
            {
                mine.push(claim.delivery.id);
            }
            mine
        }));
    }
    let mut claimed = Vec::new();
    for task in tasks {
        claimed.extend(task.await.unwrap());
    }
    claimed.sort();
    let before = claimed.len();
    claimed.dedup();
    assert_eq!((before, claimed.len()), (20, 20));
}
