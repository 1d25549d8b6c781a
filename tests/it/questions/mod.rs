//! Question pages against a local stand-in for the league's stats API: answers, errors and
//! their messages, midnight in the question's zone, the console's forms and test button, and a
//! page that stays fast while its source hangs.

mod answers;
mod console;
mod pages;

use jiff::tz::TimeZone;
use serde_json::json;

use crate::support::source::{FakeSource, Reply};
use crate::support::{Browser, TestApp};

pub const ZONE: &str = "America/Los_Angeles";
pub const GAME_LOG: &str = "/api/v1/people/665487/stats";

/// An app whose outbound client may reach the stand-in on loopback, with short limits.
pub async fn spawn() -> TestApp {
    TestApp::spawn_with(|s| {
        s.outbound_allow_loopback = true;
        s.outbound_connect_timeout_ms = 500;
        s.outbound_timeout_ms = 1_000;
        s.outbound_max_bytes = 1024 * 1024;
    })
    .await
}

/// The local date in the question's zone at the app's "now".
pub fn today(app: &TestApp) -> jiff::civil::Date {
    let now = jiff::Timestamp::from_second(app.clock().now()).unwrap();
    TimeZone::get(ZONE).unwrap().to_datetime(now).date()
}

/// Seconds from the app's "now" to the next midnight in the question's zone.
pub fn secs_to_midnight(app: &TestApp) -> i64 {
    let tomorrow = today(app).tomorrow().unwrap().to_zoned_datetime(TimeZone::get(ZONE).unwrap()).unwrap();
    tomorrow.timestamp().as_second() - app.clock().now()
}

/// A fielding game log in the stats API's shape (`stats[0].splits[]`, one split per game).
pub fn game_log(games: &[(&str, i64)]) -> String {
    let splits: Vec<serde_json::Value> = games
        .iter()
        .enumerate()
        .map(|(n, (date, errors))| {
            json!({
                "season": &date[..4],
                "stat": {"gamesPlayed": 1, "gamesStarted": 1, "assists": 3, "putOuts": 2, "errors": errors,
                         "chances": 5 + errors, "fielding": if *errors > 0 { ".833" } else { "1.000" }, "innings": "9.0",
                         "position": {"code": "9", "name": "Outfielder", "type": "Outfielder", "abbreviation": "RF"}},
                "team": {"id": 135, "name": "San Diego Padres", "link": "/api/v1/teams/135"},
                "player": {"id": 665487, "fullName": "Fernando Tatis Jr.", "link": "/api/v1/people/665487"},
                "league": {"id": 104, "name": "National League", "link": "/api/v1/league/104"},
                "sport": {"id": 1, "link": "/api/v1/sports/1", "abbreviation": "MLB"},
                "opponent": {"id": 119, "name": "Los Angeles Dodgers", "link": "/api/v1/teams/119"},
                "date": date, "gameType": "R", "isHome": n % 2 == 0, "isWin": n % 3 == 0,
                "positionsPlayed": [{"code": "9", "name": "Outfielder", "type": "Outfielder", "abbreviation": "RF"}],
                "game": {"gamePk": 746_000 + n, "link": format!("/api/v1.1/game/{}/feed/live", 746_000 + n), "gameNumber": 1, "dayNight": "night"}
            })
        })
        .collect();
    json!({
        "copyright": "Copyright 2026 MLB Advanced Media, L.P.  Use of any content on this page acknowledges agreement to the terms posted here http://gdx.mlb.com/components/copyright.txt",
        "stats": [{"type": {"displayName": "gameLog"}, "group": {"displayName": "fielding"}, "exemptions": [], "splits": splits}]
    })
    .to_string()
}

/// The stand-in API, answering the game log with `reply`.
pub async fn source_with(reply: Reply) -> FakeSource {
    let source = FakeSource::start().await;
    source.set(GAME_LOG, reply);
    source
}

/// The original site's question, pointed at `source`: the form fields the console posts.
pub fn tatis_fields(source: &FakeSource) -> Vec<(&'static str, String)> {
    vec![
        ("title", "Does Tatis Jr have an error today?".into()),
        ("slug", "tatis".into()),
        ("source_url", source.url(&format!("{GAME_LOG}?stats=gameLog&group=fielding&season={{year}}"))),
        ("header_name", String::new()),
        ("header_value", String::new()),
        ("json_path", "$.stats[0].splits[?@.date == '{today}'].stat.errors".into()),
        ("aggregate", "sum".into()),
        ("compare_op", ">".into()),
        ("compare_value", "0".into()),
        ("empty_is_zero", "on".into()),
        ("yes_text", "YES".into()),
        ("no_text", "NO".into()),
        ("unknown_text", "Nobody knows".into()),
        ("refresh_minutes", "5".into()),
        ("time_zone", ZONE.into()),
        ("action", "save".into()),
    ]
}

/// Fields with some replaced.
pub fn with(mut fields: Vec<(&'static str, String)>, changes: &[(&'static str, &str)]) -> Vec<(&'static str, String)> {
    for (name, value) in changes {
        match fields.iter_mut().find(|(n, _)| n == name) {
            Some(field) => field.1 = (*value).to_owned(),
            None => fields.push((name, (*value).to_owned())),
        }
    }
    fields.retain(|(n, v)| !(*n == "empty_is_zero" && v.is_empty()));
    fields
}

/// Posts the console's form; returns the response.
pub async fn post_form(staff: &Browser, path: &str, fields: &[(&'static str, String)]) -> reqwest::Response {
    let pairs: Vec<(&str, &str)> = fields.iter().map(|(n, v)| (*n, v.as_str())).collect();
    staff.submit(path, &pairs).await
}

/// Creates a question through the console and returns its id.
pub async fn create(staff: &Browser, fields: &[(&'static str, String)]) -> i64 {
    let res = post_form(staff, "/admin/questions/new/", fields).await;
    assert_eq!(res.status(), 303, "{}", res.text().await.unwrap_or_default());
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    location.trim_end_matches('/').rsplit('/').next().unwrap().parse().unwrap()
}

/// Reads every due question now (what the scheduled job does).
pub async fn refresh(app: &TestApp) -> usize {
    shoestring::apps::questions::refresh_due(&app.state).await.unwrap()
}

/// The JSON twin of `/q/<slug>/`.
pub async fn twin(app: &TestApp, slug: &str) -> serde_json::Value {
    let (status, body) = app.browser().get_json(&format!("/q/{slug}.json")).await;
    assert_eq!(status, 200, "{body}");
    body
}
