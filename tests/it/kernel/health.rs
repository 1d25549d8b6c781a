//! Liveness, readiness and what runs: `/up`, `/readyz`, `/version`, `/deployed_commit_id.txt`.

use shoestring::kernel::build_info;
use shoestring::kernel::config::Secret;
use shoestring::kernel::jobs;

use crate::support::cluster::ThrowawayCluster;
use crate::support::{TempDir, TestApp};

#[tokio::test]
async fn liveness_version_and_commit_answer_with_any_host_and_set_no_cookie() {
    let app = TestApp::spawn().await;
    let client = reqwest::Client::new();

    let up = client.get(app.url("/up")).header("host", "10.1.2.3:8000").send().await.unwrap();
    let up_cookies = up.headers().get_all("set-cookie").iter().count();
    let up_status = up.status();
    let (_, version) = app.browser().get_json("/version").await;
    let commit = app.browser().get_text("/deployed_commit_id.txt").await;

    assert_eq!(up_status, 200, "a health check by address is not refused by the host allowlist");
    assert_eq!(up_cookies, 0);
    assert_eq!(version["version"], build_info::VERSION);
    assert_eq!(version["commit"], build_info::COMMIT);
    assert!(version["built_at"].as_i64().unwrap() > 1_700_000_000);
    assert_eq!(commit, (200, build_info::COMMIT.to_owned()));
    assert!(build_info::COMMIT.len() == 40 || build_info::COMMIT == "unknown");
}

#[tokio::test]
async fn liveness_answers_503_while_the_drain_file_exists_and_readiness_does_not_care() {
    let dir = TempDir::new("drain");
    let drain = dir.0.join("instance.drain");
    let app = TestApp::spawn_with(|s| s.operations.drain_file = Some(drain.clone())).await;

    let before = app.browser().get("/up").await.status();
    std::fs::write(&drain, "").unwrap();
    let draining = app.browser().get("/up").await;
    let (draining_status, retry_after) = (draining.status(), draining.headers().get("retry-after").cloned());
    let (ready_while_draining, _) = app.browser().get_json("/readyz").await;
    std::fs::remove_file(&drain).unwrap();
    let after = app.browser().get("/up").await.status();

    assert_eq!(before, 200);
    assert_eq!(draining_status, 503);
    assert!(retry_after.is_some());
    assert_eq!(ready_while_draining, 200, "a deploy checks a drained instance's readiness before letting it back");
    assert_eq!(after, 200);
}

#[tokio::test]
async fn readiness_reports_each_check_and_fails_when_the_job_queue_is_stuck() {
    let app = TestApp::spawn_with(|s| s.operations.ready_max_job_delay_secs = 60).await;

    let (ready, body) = app.browser().get_json("/readyz").await;
    let mut tx = app.state.db.begin_write().await.unwrap();
    jobs::enqueue(&mut tx, "test.nobody-runs-this", &serde_json::json!({}), app.clock().now()).await.unwrap();
    tx.commit().await.unwrap();
    app.clock().advance(120);
    let stuck = app.browser().get("/readyz").await;
    let retry_after = stuck.headers().get("retry-after").cloned();
    let stuck_status = stuck.status();
    let stuck_body: serde_json::Value = stuck.json().await.unwrap();

    assert_eq!(ready, 200, "{body}");
    assert_eq!(body["ok"], true);
    let names: Vec<&str> = body["checks"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["database", "jobs", "disk"]);
    assert_eq!(stuck_status, 503);
    assert!(retry_after.is_some());
    let jobs = stuck_body["checks"].as_array().unwrap().iter().find(|c| c["name"] == "jobs").unwrap();
    assert_eq!(jobs["ok"], false, "{stuck_body}");
}

#[tokio::test]
async fn readiness_turns_503_while_postgres_is_down_and_back_after() {
    let Some(cluster) = ThrowawayCluster::start() else {
        eprintln!("skipped: PostgreSQL server binaries or root are not available");
        return;
    };
    let url = cluster.url("postgres");
    let app = TestApp::spawn_with(|s| s.database_url = Secret::new(url)).await;
    let browser = app.browser();

    let before = browser.get("/readyz").await.status();
    cluster.stop();
    let started = std::time::Instant::now();
    let (down, body) = browser.get_json("/readyz").await;
    let took = started.elapsed();
    let live = browser.get("/up").await.status();
    cluster.restart();
    let mut after = 0;
    for _ in 0..50 {
        after = browser.get("/readyz").await.status().as_u16();
        if after == 200 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }

    assert_eq!(before, 200);
    assert_eq!(down, 503, "{body}");
    assert!(took < std::time::Duration::from_secs(3), "{took:?}");
    assert_eq!(body["checks"][0]["ok"], false);
    assert_eq!(live, 200, "liveness does not depend on the database");
    assert_eq!(after, 200);
}
