//! The outbound HTTP client against a local stand-in API: answers, error kinds and their
//! messages, time and size limits, redirects, headers and the address guard.

use std::time::{Duration, Instant};

use shoestring::kernel::config::Secret;
use shoestring::kernel::outbound::{ExtraHeader, FetchError, Limits, Outbound, Phase, Reach};

use crate::support::source::{FakeSource, Reply};

const LIMITS: Limits = Limits {
    connect_timeout: Duration::from_secs(2),
    total_timeout: Duration::from_millis(800),
    max_bytes: 1024 * 1024,
};

fn client() -> Outbound {
    Outbound::new(Reach::PublicAndLoopback, LIMITS, "Shoestring-test/1").unwrap()
}

#[tokio::test]
async fn a_json_answer_is_parsed_and_the_user_agent_and_header_are_sent() {
    let source = FakeSource::start().await;
    source.set("/ok", Reply::Json(r#"{"errors": 1}"#.into()));
    let token = ExtraHeader { name: "X-Api-Key".into(), value: Secret::new("s3cret") };

    let json = client().get_json(&source.url("/ok?season=2026"), &[token]).await.unwrap();

    assert_eq!(json["errors"], 1);
    let seen = &source.seen()[0];
    assert_eq!(seen.target, "/ok?season=2026");
    let head = seen.head.to_lowercase();
    assert!(head.contains("user-agent: shoestring-test/1"), "{head}");
    assert!(head.contains("x-api-key: s3cret"), "{head}");
    assert!(head.contains("accept: application/json"), "{head}");
}

#[tokio::test]
async fn error_statuses_come_back_as_status_errors_with_their_reason() {
    let source = FakeSource::start().await;
    source.set("/down", Reply::Status(500));

    let missing = client().get_json(&source.url("/nothing"), &[]).await.unwrap_err();
    let down = client().get_json(&source.url("/down"), &[]).await.unwrap_err();

    assert_eq!(missing, FetchError::Status { code: 404 });
    assert_eq!(down.to_string(), "The source answered HTTP 500 (Internal Server Error).");
    assert_eq!(down.kind(), "status");
}

#[tokio::test]
async fn malformed_json_is_reported_with_where_it_broke() {
    let source = FakeSource::start().await;
    source.set("/bad", Reply::Body(r#"{"stats": [1, 2"#.into()));

    let err = client().get_json(&source.url("/bad"), &[]).await.unwrap_err();

    assert!(matches!(&err, FetchError::NotJson(m) if m.contains("line 1")), "{err:?}");
    assert!(err.to_string().starts_with("The response is not JSON"));
}

#[tokio::test]
async fn an_answer_that_never_ends_times_out_at_the_total_limit() {
    let source = FakeSource::start().await;
    source.set("/hang", Reply::Hang);
    source.set("/silent", Reply::Silent);

    for path in ["/hang", "/silent"] {
        let started = Instant::now();
        let err = client().get(&source.url(path), &[]).await.unwrap_err();
        let took = started.elapsed();

        assert_eq!(err, FetchError::Timeout { phase: Phase::Answer, after: LIMITS.total_timeout }, "{path}");
        assert!(took >= LIMITS.total_timeout && took < LIMITS.total_timeout * 3, "{path} took {took:?}");
    }
}

#[tokio::test]
async fn a_twenty_megabyte_body_is_refused_without_reading_it_all() {
    let source = FakeSource::start().await;
    source.set("/huge", Reply::Huge(20 * 1024 * 1024));
    source.set("/declared", Reply::HugeDeclared(20 * 1024 * 1024));

    let streamed = client().get(&source.url("/huge"), &[]).await.unwrap_err();
    let declared = client().get(&source.url("/declared"), &[]).await.unwrap_err();

    assert_eq!(streamed, FetchError::TooLarge { limit: 1024 * 1024 });
    assert_eq!(declared.to_string(), "The response is larger than the 1 MiB limit.");
}

#[tokio::test]
async fn a_body_just_under_the_limit_is_read() {
    let source = FakeSource::start().await;
    source.set("/big", Reply::Huge(1024 * 1024));

    let body = client().get(&source.url("/big"), &[]).await.unwrap();

    assert_eq!(body.bytes.len(), 1024 * 1024);
}

#[tokio::test]
async fn a_closed_port_is_reported_as_a_refused_connection() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);

    let err = client().get(&format!("http://{addr}/x"), &[]).await.unwrap_err();

    assert_eq!(err, FetchError::Refused { host: "127.0.0.1".into() });
    assert_eq!(err.kind(), "connection_refused");
}

#[tokio::test]
async fn redirects_never_change_scheme_never_reach_private_addresses_and_are_few() {
    let source = FakeSource::start().await;
    source.set("/to-https", Reply::Redirect(format!("https://{}/ok", source.addr)));
    source.set("/to-private", Reply::Redirect("http://10.0.0.1/ok".into()));
    source.set("/loop", Reply::Redirect("/loop".into()));
    source.set("/hop", Reply::Redirect("/ok".into()));
    source.set("/ok", Reply::Json("[]".into()));

    let upgrade = client().get(&source.url("/to-https"), &[]).await.unwrap_err();
    let private = client().get(&source.url("/to-private"), &[]).await.unwrap_err();
    let looping = client().get(&source.url("/loop"), &[]).await.unwrap_err();
    let hop = client().get_json(&source.url("/hop"), &[]).await.unwrap();

    assert_eq!(upgrade, FetchError::Redirect("from http to https".into()));
    assert!(matches!(&private, FetchError::Redirect(m) if m.contains("10.0.0.1")), "{private:?}");
    assert!(matches!(&looping, FetchError::Redirect(m) if m.contains("more than 3")), "{looping:?}");
    assert_eq!(hop, serde_json::json!([]));
}

#[tokio::test]
async fn production_reach_refuses_loopback_and_plain_http_before_connecting() {
    let source = FakeSource::start().await;
    source.set("/ok", Reply::Json("[]".into()));
    let production = Outbound::new(Reach::Public, LIMITS, "t").unwrap();

    let http = production.get(&source.url("/ok"), &[]).await.unwrap_err();
    let https = production.get(&format!("https://{}/ok", source.addr), &[]).await.unwrap_err();
    let named = production.get("https://localhost/ok", &[]).await.unwrap_err();

    assert!(matches!(http, FetchError::InvalidUrl(_)), "{http:?}");
    assert!(matches!(https, FetchError::Blocked(_)), "{https:?}");
    assert!(matches!(named, FetchError::Blocked(_)), "{named:?}");
    assert!(source.seen().is_empty(), "nothing reached the server");
}

#[tokio::test]
async fn header_values_never_print() {
    let header = ExtraHeader { name: "Authorization".into(), value: Secret::new("Bearer abc123") };

    assert!(!format!("{header:?}").contains("abc123"));
}
