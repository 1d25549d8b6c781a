//! The console's question pages: field errors, "test this source", the secret header, the guard.

use crate::support::source::Reply;

use super::*;

#[tokio::test]
async fn bad_jsonpath_bad_urls_and_bad_zones_are_field_errors_and_nothing_is_saved() {
    let app = spawn().await;
    let (_, staff) = app.staff("boss").await;
    let source = source_with(Reply::Json(game_log(&[]))).await;
    let cases = [
        ("json_path", "$.stats[0].splits[?@.date == ", "Not a valid JSONPath"),
        ("source_url", "ftp://stats.example.com/log", "Use an https:// address."),
        ("source_url", "https://10.1.2.3/log?season={year}", "Refused: 10.1.2.3 is a private"),
        ("source_url", "https://stats.example.com/log?d={date}", "Only {today} and {year} may appear in braces."),
        ("source_url", "not a url", "Not a valid address"),
        ("time_zone", "Mars/Olympus", "\"Mars/Olympus\" is not a time zone name"),
        ("slug", "Tatis Jr!", "Use 1–60 lower-case letters, digits and hyphens (not at either end)."),
        ("refresh_minutes", "0", "Between 1 and 1440 minutes."),
    ];

    for (field, value, message) in cases {
        let res = post_form(&staff, "/admin/questions/new/", &with(tatis_fields(&source), &[(field, value)])).await;
        let status = res.status();
        let page = res.text().await.unwrap();

        assert_eq!(status, 400, "{field}={value}");
        let shown = format!(r#"<p class="error">{}"#, askama_escape(message));
        assert!(page.contains(&shown), "{field}={value}: no {shown:?}");
    }
    assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM questions").await, 0);
}

/// The form's messages as the escaping template writes them.
fn askama_escape(text: &str) -> String {
    text.replace('&', "&#38;").replace('"', "&#34;").replace('\'', "&#39;").replace('<', "&#60;").replace('>', "&#62;")
}

#[tokio::test]
async fn testing_a_source_shows_the_values_and_the_answer_and_saves_nothing() {
    let app = spawn().await;
    let (_, staff) = app.staff("boss").await;
    let today = today(&app).to_string();
    let source = source_with(Reply::Json(game_log(&[("2026-03-28", 0), (&today, 2)]))).await;

    let res = post_form(&staff, "/admin/questions/new/", &with(tatis_fields(&source), &[("action", "test")])).await;
    let status = res.status();
    let page = res.text().await.unwrap();

    assert_eq!(status, 200);
    assert!(page.contains("The path matched 1 value."), "{page}");
    assert!(page.contains("<code>2</code>"));
    assert!(page.contains(r#"<strong class="test-answer">YES</strong>"#));
    assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM questions").await, 0);
}

#[tokio::test]
async fn testing_a_broken_source_names_the_problem() {
    let app = spawn().await;
    let (_, staff) = app.staff("boss").await;
    let source = source_with(Reply::Json(game_log(&[]))).await;
    source.set("/missing-never-set", Reply::Status(404));
    source.set("/html", Reply::Body("<html>maintenance</html>".into()));
    source.set("/down", Reply::Status(500));
    source.set("/slow", Reply::Silent);
    let strict = with(tatis_fields(&source), &[("action", "test"), ("empty_is_zero", "")]);
    let cases = [
        ("/nowhere", "The source answered HTTP 404 (Not Found)."),
        ("/html", "The response is not JSON: expected value at line 1 column 1."),
        ("/down", "The source answered HTTP 500 (Internal Server Error)."),
        ("/slow", "The source did not answer in full within 1 s."),
        (GAME_LOG, "The path matched nothing in this response."),
    ];

    for (path, message) in cases {
        let fields = with(strict.clone(), &[("source_url", &source.url(path))]);
        let page = post_form(&staff, "/admin/questions/new/", &fields).await.text().await.unwrap();

        assert!(page.contains(&askama_escape(message)), "{path}: no {message:?}");
    }
}

#[tokio::test]
async fn the_header_value_is_sent_to_the_source_but_never_shown_back() {
    let app = spawn().await;
    let (_, staff) = app.staff("boss").await;
    let source = source_with(Reply::Json(game_log(&[]))).await;
    let fields = with(tatis_fields(&source), &[("header_name", "X-Api-Key"), ("header_value", "tok-3x4mpl3-s3cr3t")]);
    let id = create(&staff, &fields).await;

    refresh(&app).await;
    let edit = staff.get_text(&format!("/admin/questions/{id}/")).await.1;
    let tested = post_form(
        &staff,
        &format!("/admin/questions/{id}/"),
        &with(fields.clone(), &[("header_value", ""), ("action", "test")]),
    )
    .await;
    let tested = tested.text().await.unwrap();
    let audit = staff.get_text("/admin/audit/").await.1;

    assert!(
        source
            .seen()
            .iter()
            .all(|s| s.head.contains("X-Api-Key: tok-3x4mpl3-s3cr3t")
                || s.head.contains("x-api-key: tok-3x4mpl3-s3cr3t"))
    );
    assert_eq!(source.seen().len(), 2, "the job and the test both sent it");
    for page in [&edit, &tested, &audit] {
        assert!(!page.contains("tok-3x4mpl3-s3cr3t"));
    }
    assert!(audit.contains("question.created"));
}

#[tokio::test]
async fn editing_keeps_the_stored_header_value_when_left_blank_and_audits_the_change() {
    let app = spawn().await;
    let (_, staff) = app.staff("boss").await;
    let source = source_with(Reply::Json(game_log(&[]))).await;
    let fields = with(tatis_fields(&source), &[("header_name", "Authorization"), ("header_value", "Bearer one")]);
    let id = create(&staff, &fields).await;

    let res = post_form(
        &staff,
        &format!("/admin/questions/{id}/"),
        &with(fields, &[("header_value", ""), ("title", "Error today?")]),
    )
    .await;
    refresh(&app).await;

    assert_eq!(res.status(), 303);
    assert!(source.seen()[0].head.to_lowercase().contains("authorization: bearer one"));
    assert!(staff.get_text("/admin/audit/").await.1.contains("question.updated"));
    assert_eq!(twin(&app, "tatis").await["question"], "Error today?");
}

#[tokio::test]
async fn a_taken_slug_is_a_field_error() {
    let app = spawn().await;
    let (_, staff) = app.staff("boss").await;
    let source = source_with(Reply::Json(game_log(&[]))).await;
    create(&staff, &tatis_fields(&source)).await;

    let res = post_form(&staff, "/admin/questions/new/", &tatis_fields(&source)).await;

    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains("Another question has this address."));
}

#[tokio::test]
async fn only_staff_reach_the_question_console() {
    let app = spawn().await;
    let (_, member) = app.logged_in("member").await;
    let anonymous = app.browser();

    let member_list = member.get("/admin/questions/").await.status();
    let member_post = post_form(&member, "/admin/questions/new/", &[("title", "x".into())]).await.status();
    let anonymous_list = anonymous.get("/admin/questions/new/").await;

    assert_eq!(member_list, 403);
    assert_eq!(member_post, 403);
    assert_eq!(anonymous_list.status(), 303, "anonymous visitors are sent to log in");
    assert!(anonymous_list.headers()["location"].to_str().unwrap().starts_with("/admin/login/?next="));
}

#[tokio::test]
async fn staff_delete_a_question_and_its_page_is_gone() {
    let app = spawn().await;
    let (_, staff) = app.staff("boss").await;
    let source = source_with(Reply::Json(game_log(&[]))).await;
    let id = create(&staff, &tatis_fields(&source)).await;
    refresh(&app).await;

    let res = staff.submit(&format!("/admin/questions/{id}/delete/"), &[]).await;

    assert_eq!(res.status(), 303);
    assert_eq!(app.browser().get("/q/tatis/").await.status(), 404);
    assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM question_answers").await, 0);
}
