//! What the page answers for each thing the source can send, and when it changes.

use crate::support::source::Reply;

use super::*;

#[tokio::test]
async fn the_page_says_yes_when_the_player_made_an_error_today_and_asks_for_this_season() {
    let app = spawn().await;
    let (_, staff) = app.staff("boss").await;
    let today = today(&app).to_string();
    let source = source_with(Reply::Json(game_log(&[("2026-03-28", 0), (&today, 1)]))).await;
    create(&staff, &tatis_fields(&source)).await;

    refresh(&app).await;
    let (status, page) = app.browser().get_text("/q/tatis/").await;
    let json = twin(&app, "tatis").await;

    assert_eq!(status, 200);
    assert!(page.contains(r#"<p class="q-answer q-yes" role="status">YES</p>"#), "{page}");
    assert!(page.contains("as of "));
    assert_eq!((json["answer"].as_str(), json["text"].as_str()), (Some("yes"), Some("YES")));
    assert!(json["as_of"].as_str().is_some_and(|t| t.ends_with('Z')));
    let year = &today[..4];
    assert_eq!(source.seen()[0].target, format!("{GAME_LOG}?stats=gameLog&group=fielding&season={year}"));
}

#[tokio::test]
async fn a_game_without_an_error_or_no_game_at_all_says_no() {
    let app = spawn().await;
    let (_, staff) = app.staff("boss").await;
    let today = today(&app).to_string();
    let source = source_with(Reply::Json(game_log(&[(&today, 0)]))).await;
    create(&staff, &tatis_fields(&source)).await;
    refresh(&app).await;
    let clean_game = twin(&app, "tatis").await;

    source.set(GAME_LOG, Reply::Json(game_log(&[])));
    app.clock().advance(301);
    refresh(&app).await;
    let empty_season = twin(&app, "tatis").await;

    assert_eq!(clean_game["answer"], "no");
    assert_eq!(empty_season["answer"], "no");
    assert_eq!(empty_season["text"], "NO");
}

#[tokio::test]
async fn without_empty_as_zero_an_empty_season_is_unknown_with_its_reason() {
    let app = spawn().await;
    let (_, staff) = app.staff("boss").await;
    let source = source_with(Reply::Json(game_log(&[]))).await;
    create(&staff, &with(tatis_fields(&source), &[("empty_is_zero", "")])).await;

    refresh(&app).await;
    let json = twin(&app, "tatis").await;
    let console = staff.get_text("/admin/questions/").await.1;

    assert_eq!(json["answer"], "unknown");
    assert_eq!(json["text"], "Nobody knows");
    assert_eq!(json["reason"], "The source has no value for this yet.");
    assert!(console.contains("The path matched nothing in this response."), "{console}");
}

#[tokio::test]
async fn malformed_json_a_500_a_huge_body_and_a_hang_each_leave_a_clear_reason() {
    let app = spawn().await;
    let (_, staff) = app.staff("boss").await;
    let source = source_with(Reply::Body(r#"{"stats": [{"splits": ["#.into())).await;
    create(&staff, &tatis_fields(&source)).await;
    let cases = [
        (
            Reply::Body(r#"{"stats": [{"splits": ["#.into()),
            "The source sent something other than JSON.",
            "The response is not JSON: EOF while parsing",
        ),
        (
            Reply::Status(500),
            "The source answered with an error.",
            "The source answered HTTP 500 (Internal Server Error).",
        ),
        (
            Reply::Huge(20 * 1024 * 1024),
            "The source's answer was too large.",
            "The response is larger than the 1 MiB limit.",
        ),
        (Reply::Hang, "The source did not answer in time.", "The source did not answer in full within 1 s."),
    ];

    for (reply, public, staff_message) in cases {
        source.set(GAME_LOG, reply);
        app.clock().advance(3600);
        refresh(&app).await;
        let json = twin(&app, "tatis").await;
        let console = staff.get_text("/admin/questions/").await.1;

        assert_eq!(json["answer"], "unknown");
        assert_eq!(json["reason"], public);
        assert!(console.contains(staff_message), "console lacks {staff_message:?}");
    }
}

#[tokio::test]
async fn a_failed_read_keeps_the_last_good_answer_and_retries_with_growing_gaps() {
    let app = spawn().await;
    let (_, staff) = app.staff("boss").await;
    let source = source_with(Reply::Json(game_log(&[("2020-01-01", 0)]))).await;
    let fields = with(tatis_fields(&source), &[("json_path", "$.stats[0].splits[*].stat.errors"), ("compare_op", "")]);
    create(&staff, &fields).await;
    refresh(&app).await;

    source.set(GAME_LOG, Reply::Status(503));
    app.clock().advance(300);
    refresh(&app).await;
    let first_gap = app.scalar_i64("SELECT next_fetch_at FROM questions").await - app.clock().now();
    app.clock().advance(first_gap);
    refresh(&app).await;
    let second_gap = app.scalar_i64("SELECT next_fetch_at FROM questions").await - app.clock().now();
    let json = twin(&app, "tatis").await;

    assert_eq!((json["answer"].as_str(), json["number"].as_str()), (Some("number"), Some("0")));
    assert_eq!((first_gap, second_gap), (30, 60));
    assert_eq!(app.scalar_i64("SELECT failures FROM questions").await, 2);
}

#[tokio::test]
async fn the_answer_flips_at_midnight_in_the_questions_time_zone() {
    let app = spawn().await;
    let (_, staff) = app.staff("boss").await;
    app.clock().advance(secs_to_midnight(&app) - 60);
    let day_one = today(&app);
    let day_two = day_one.tomorrow().unwrap();
    let log = game_log(&[(&day_one.to_string(), 2), (&day_two.to_string(), 0)]);
    let source = source_with(Reply::Json(log)).await;
    create(&staff, &tatis_fields(&source)).await;
    refresh(&app).await;
    let before = twin(&app, "tatis").await;

    app.clock().advance(61);
    let at_midnight = twin(&app, "tatis").await;
    let due = refresh(&app).await;
    let after = twin(&app, "tatis").await;

    assert_eq!(
        (before["answer"].as_str(), before["today"].as_str()),
        (Some("yes"), Some(day_one.to_string().as_str()))
    );
    assert_eq!(at_midnight["answer"], "unknown", "yesterday's answer is not today's");
    assert_eq!(at_midnight["reason"], "Not read yet today.");
    assert_eq!(due, 1, "midnight makes the question due");
    assert_eq!((after["answer"].as_str(), after["today"].as_str()), (Some("no"), Some(day_two.to_string().as_str())));
    let history = after["history"].as_array().unwrap();
    assert_eq!((history[0]["answer"].as_str(), history[1]["answer"].as_str()), (Some("no"), Some("yes")));
    assert_eq!(history.len(), 30);
}

#[tokio::test]
async fn the_scheduled_job_reads_due_questions_by_itself() {
    let app = spawn().await;
    let (_, staff) = app.staff("boss").await;
    let today = today(&app).to_string();
    let source = source_with(Reply::Json(game_log(&[(&today, 1)]))).await;
    create(&staff, &tatis_fields(&source)).await;
    let worker = shoestring::worker(&app.state);
    worker.register_schedules().await.unwrap();

    app.clock().advance(31);
    worker.run_due().await.unwrap();

    assert_eq!(twin(&app, "tatis").await["answer"], "yes");
    assert_eq!(source.seen().len(), 1);
}
