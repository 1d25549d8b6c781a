//! SQL of badge classes.

use sqlx::AnyPool;

use crate::apps::badges::model::{BadgeClass, ValidBadgeClass};
use crate::kernel::db::Tx;

pub const SLUG_KEY: &str = "badge_classes_slug";

macro_rules! select_classes {
    ($tail:literal) => {
        concat!(
            "SELECT id, slug, name, description, criteria, image_key, image_url, valid_days, course_id \
             FROM badge_classes ",
            $tail
        )
    };
}

pub async fn insert_class(
    tx: &mut Tx,
    id: &str,
    class: &ValidBadgeClass,
    image_key: Option<&str>,
    created_by: i64,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO badge_classes (id, slug, name, description, criteria, image_key, image_url, valid_days, \
         course_id, created_by, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)",
    )
    .bind(id)
    .bind(class.slug.as_str())
    .bind(&class.name)
    .bind(&class.description)
    .bind(&class.criteria)
    .bind(image_key)
    .bind(class.image_url.as_deref())
    .bind(class.valid_days)
    .bind(class.course_id.as_deref())
    .bind(created_by)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Saves an edit; `image_key` replaces the stored upload when given, and a new image URL drops it.
pub async fn update_class(
    tx: &mut Tx,
    id: &str,
    class: &ValidBadgeClass,
    image_key: Option<&str>,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE badge_classes SET slug = $2, name = $3, description = $4, criteria = $5, \
         image_key = CASE WHEN $6 IS NOT NULL THEN $6 WHEN $7 IS NOT NULL THEN NULL ELSE image_key END, \
         image_url = CASE WHEN $6 IS NOT NULL THEN NULL ELSE COALESCE($7, image_url) END, \
         valid_days = $8, course_id = $9, updated_at = $10 WHERE id = $1",
    )
    .bind(id)
    .bind(class.slug.as_str())
    .bind(&class.name)
    .bind(&class.description)
    .bind(&class.criteria)
    .bind(image_key)
    .bind(class.image_url.as_deref())
    .bind(class.valid_days)
    .bind(class.course_id.as_deref())
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn find_class(pool: &AnyPool, id: &str) -> sqlx::Result<Option<BadgeClass>> {
    sqlx::query_as(select_classes!("WHERE id = $1")).bind(id).fetch_optional(pool).await
}

pub async fn find_class_by_slug(pool: &AnyPool, slug: &str) -> sqlx::Result<Option<BadgeClass>> {
    sqlx::query_as(select_classes!("WHERE slug = $1")).bind(slug).fetch_optional(pool).await
}

pub async fn list_classes(pool: &AnyPool) -> sqlx::Result<Vec<BadgeClass>> {
    sqlx::query_as(select_classes!("ORDER BY name, id")).fetch_all(pool).await
}

/// Badge classes this user holds no live award of.
pub async fn classes_not_held(pool: &AnyPool, user_id: i64) -> sqlx::Result<Vec<BadgeClass>> {
    sqlx::query_as(select_classes!(
        "WHERE id NOT IN (SELECT badge_id FROM badge_awards WHERE recipient_id = $1 AND revoked_at IS NULL) \
         ORDER BY name, id"
    ))
    .bind(user_id)
    .fetch_all(pool)
    .await
}
