//! PostgreSQL connections keep what makes the app's plans cheap at any data size: one generic
//! plan per prepared statement, and no JIT compilation, which a generic plan's cost estimate
//! for a 20-row page at 100× the data would otherwise set off on every call.

use shoestring::kernel::db::Backend;

use crate::support::TestApp;

#[tokio::test]
async fn postgres_connections_keep_generic_plans_and_never_compile_queries() {
    let app = TestApp::spawn().await;
    if app.state.db.backend != Backend::Postgres {
        return;
    }
    let mut settings = Vec::new();
    for name in ["SHOW plan_cache_mode", "SHOW jit"] {
        let value: String = sqlx::query_scalar(name).fetch_one(&app.state.db.pool).await.unwrap();
        settings.push(value);
    }

    assert_eq!(settings, ["force_generic_plan", "off"]);
}
