//! `shoestring seed`: a deterministic demo and benchmark data set — users, posts, likes and a few
//! images — following the benchmark's seed contract. It is a bulk loader: it writes the tables of
//! both apps directly, in one transaction, which the apps' services (one row at a time, with
//! rate limits) are not meant for.

use std::io::Cursor;
use std::path::PathBuf;

use image::{ImageFormat, Rgb, RgbImage};

use crate::kernel::AppState;
use crate::kernel::db::search;
use crate::kernel::db::{Backend, Tx};
use crate::kernel::media::process_image;
use crate::kernel::security::password::Password;
use crate::kernel::security::token::{hex, random_token};

const LOREM: &str = "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor \
                     incididunt ut labore et dolore magna aliqua. Ut enim ad minim veniam, quis nostrud \
                     exercitation ullamco laboris nisi ut aliquip ex ea commodo consequat.";
/// 2024-01-01T00:00:00Z.
const EPOCH: i64 = 1_704_067_200;

#[derive(Debug, clap::Args)]
pub struct SeedOptions {
    /// How many users (user0001 …); user0001 is staff.
    #[arg(long, default_value_t = 20)]
    pub users: usize,
    /// How many posts.
    #[arg(long, default_value_t = 200)]
    pub posts: usize,
    /// How many of the newest posts get a generated image.
    #[arg(long, default_value_t = 10)]
    pub images: usize,
    /// One password for every user (hashed once: fast, for benchmarks). Default: a random
    /// password per user.
    #[arg(long, env = "SEED_PASSWORD")]
    pub password: Option<String>,
    /// Where the users' passwords are written (CSV: username,email,password; mode 0600).
    #[arg(long, default_value = "seed-passwords.csv")]
    pub passwords_file: PathBuf,
    /// Delete every user, post and like first.
    #[arg(long)]
    pub replace: bool,
}

pub struct Seeded {
    pub users: usize,
    pub posts: usize,
    pub likes: usize,
}

pub async fn seed(state: &AppState, options: &SeedOptions) -> anyhow::Result<Seeded> {
    anyhow::ensure!(options.users >= 1, "--users must be at least 1");
    let existing: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users").fetch_one(&state.db.pool).await?;
    anyhow::ensure!(existing == 0 || options.replace, "the database already has users; pass --replace to start over");
    let credentials = passwords(state, options).await?;
    write_passwords(&options.passwords_file, &credentials)?;

    let mut tx = state.db.begin_write().await?;
    if options.replace {
        for sql in ["DELETE FROM likes", "DELETE FROM posts", "DELETE FROM sessions", "DELETE FROM users"] {
            sqlx::query(sql).execute(&mut *tx).await?;
        }
    }
    let user_ids = insert_users(&mut tx, &credentials).await?;
    let images = make_images(state, options).await?;
    let post_ids = insert_posts(&mut tx, options.posts, &user_ids, &images).await?;
    let like_total = insert_likes(&mut tx, &post_ids, &user_ids).await?;
    // A bulk load writes rows directly: set the running totals from them.
    for sql in [
        "UPDATE counters SET value = (SELECT COUNT(*) FROM posts) WHERE name = 'posts'",
        "UPDATE counters SET value = (SELECT COUNT(*) FROM users) WHERE name = 'users'",
    ] {
        sqlx::query(sql).execute(&mut *tx).await?;
    }
    tx.commit().await?;
    match state.db.backend {
        // The load went through the write-ahead log, as large as the data: fold it in.
        Backend::Sqlite => {
            sqlx::query("ANALYZE").execute(&state.db.pool).await?;
            state.db.fold_log().await?;
        }
        // Also marks the new pages all-visible, so index-only scans need not visit the table.
        Backend::Postgres => {
            sqlx::query("VACUUM ANALYZE").execute(&state.db.pool).await?;
        }
    }
    Ok(Seeded { users: user_ids.len(), posts: post_ids.len(), likes: like_total })
}

/// Rows per INSERT: far fewer statements than rows (a 100× seed is 4 million rows), and far
/// fewer placeholders than either database allows in one statement (SQLite 32,766).
const BATCH: usize = 500;

/// `INSERT … VALUES (row), (row), … tail` with `rows` copies of `row`, whose every `?` becomes
/// the next numbered placeholder.
fn multi_row(head: &str, row: &str, rows: usize, tail: &str) -> sqlx::AssertSqlSafe<String> {
    let mut sql = String::from(head);
    let mut n = 0;
    for i in 0..rows {
        sql.push_str(if i == 0 { " VALUES (" } else { ", (" });
        for part in row.split('?').enumerate() {
            if part.0 > 0 {
                n += 1;
                sql.push_str(&format!("${n}"));
            }
            sql.push_str(part.1);
        }
        sql.push(')');
    }
    sql.push_str(tail);
    // Safe: fixed text and numbered placeholders only; every value is bound.
    sqlx::AssertSqlSafe(sql)
}

/// (username, email, password hash, password) per user.
async fn passwords(state: &AppState, options: &SeedOptions) -> anyhow::Result<Vec<(String, String, String, String)>> {
    let width = options.users.to_string().len().max(4);
    let shared = match &options.password {
        Some(p) => Some((p.clone(), state.passwords.hash(&Password::new(p.clone())).await?)),
        None => None,
    };
    let mut out = Vec::with_capacity(options.users);
    for i in 1..=options.users {
        let username = format!("user{i:0width$}");
        let (password, hash) = match &shared {
            Some((p, h)) => (p.clone(), h.clone()),
            None => {
                let p = random_token()[..20].to_owned();
                let h = state.passwords.hash(&Password::new(p.clone())).await?;
                (p, h)
            }
        };
        out.push((username.clone(), format!("{username}@example.com"), hash, password));
    }
    Ok(out)
}

fn write_passwords(path: &PathBuf, credentials: &[(String, String, String, String)]) -> anyhow::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    writeln!(file, "username,email,password")?;
    for (username, email, _, password) in credentials {
        writeln!(file, "{username},{email},{password}")?;
    }
    Ok(())
}

async fn insert_users(tx: &mut Tx, credentials: &[(String, String, String, String)]) -> anyhow::Result<Vec<i64>> {
    let mut ids = vec![0; credentials.len()];
    for (chunk_no, chunk) in credentials.chunks(BATCH).enumerate() {
        let sql = multi_row(
            "INSERT INTO users (username, username_key, email, email_key, password_hash, nickname, is_active, \
             is_staff, is_superuser, email_confirmed_at, date_joined)",
            "?, ?, ?, ?, ?, ?, TRUE, ?, ?, ?, ?",
            chunk.len(),
            " RETURNING id, username",
        );
        let mut query = sqlx::query_as::<_, (i64, String)>(sql);
        for (i, (username, email, hash, _)) in chunk.iter().enumerate() {
            let number = chunk_no * BATCH + i + 1;
            let joined = EPOCH - 86_400 + number as i64;
            query = query
                .bind(username.clone())
                .bind(username.clone())
                .bind(email.clone())
                .bind(email.clone())
                .bind(hash.clone())
                .bind(format!("User {}", &username[4..]))
                .bind(number == 1)
                .bind(number == 1)
                .bind(joined)
                .bind(joined);
        }
        // RETURNING's row order is not promised: place each id by its username's number.
        for (id, username) in query.fetch_all(&mut **tx).await? {
            let number: usize = username[4..].parse()?;
            ids[number - 1] = id;
        }
    }
    Ok(ids)
}

/// Post j (1-based) gets `j mod 7` likes from users `(13j + 101t) mod N + 1`, duplicates skipped.
fn likers(j: usize, users: usize) -> Vec<usize> {
    let mut likers: Vec<usize> = Vec::new();
    for t in 0..j % 7 {
        let user_no = (13 * j + 101 * t) % users + 1;
        if !likers.contains(&user_no) {
            likers.push(user_no);
        }
    }
    likers
}

/// Stored images (image key, thumbnail key, bytes) for the newest `--images` posts.
async fn make_images(state: &AppState, options: &SeedOptions) -> anyhow::Result<Vec<(String, String, i64)>> {
    let mut out = Vec::new();
    for n in 0..options.images.min(options.posts) {
        let png = gradient(n);
        let processed = tokio::task::spawn_blocking(move || process_image(&png)).await??;
        let name = hex(&rand::random::<[u8; 16]>());
        let image_key = format!("posts/{name}.{}", processed.extension);
        let thumb_key = format!("posts/{name}-thumb.jpg");
        let bytes = (processed.image.len() + processed.thumbnail.len()) as i64;
        state.media.put(&image_key, processed.image).await?;
        state.media.put(&thumb_key, processed.thumbnail).await?;
        out.push((image_key, thumb_key, bytes));
    }
    Ok(out)
}

fn gradient(seed: usize) -> Vec<u8> {
    let hue = (seed * 47 % 255) as u8;
    let img = RgbImage::from_fn(640, 400, |x, y| Rgb([hue, (x * 255 / 640) as u8, (y * 255 / 400) as u8]));
    let mut out = Vec::new();
    image::DynamicImage::ImageRgb8(img).write_to(&mut Cursor::new(&mut out), ImageFormat::Png).expect("PNG encodes");
    out
}

async fn insert_posts(
    tx: &mut Tx,
    posts: usize,
    user_ids: &[i64],
    images: &[(String, String, i64)],
) -> anyhow::Result<Vec<i64>> {
    let mut ids = vec![0; posts];
    let numbers: Vec<usize> = (1..=posts).collect();
    for chunk in numbers.chunks(BATCH) {
        let sql = multi_row(
            "INSERT INTO posts (author_id, body, search_text, image_key, thumb_key, image_bytes, like_count, \
             client_ip, created_at, updated_at)",
            "?, ?, ?, ?, ?, ?, ?, '127.0.0.1', ?, ?",
            chunk.len(),
            " RETURNING id, created_at",
        );
        let mut query = sqlx::query_as::<_, (i64, i64)>(sql);
        for &j in chunk {
            let author = (j % 100 != 0).then(|| user_ids[(7 * j) % user_ids.len()]);
            let body = format!("Post {j}: {}", &LOREM[..(60 + (37 * j) % 140).min(LOREM.len())]);
            let created = EPOCH + 60 * j as i64;
            // The newest posts carry the images.
            let image = images.get(posts - j);
            query = query
                .bind(author)
                .bind(body.clone())
                .bind(search::fold(&body))
                .bind(image.map(|i| i.0.clone()))
                .bind(image.map(|i| i.1.clone()))
                .bind(image.map_or(0, |i| i.2))
                .bind(likers(j, user_ids.len()).len() as i64)
                .bind(created)
                .bind(created);
        }
        // RETURNING's row order is not promised: place each id by its post's number.
        for (id, created) in query.fetch_all(&mut **tx).await? {
            ids[((created - EPOCH) / 60 - 1) as usize] = id;
        }
    }
    Ok(ids)
}

async fn insert_likes(tx: &mut Tx, post_ids: &[i64], user_ids: &[i64]) -> anyhow::Result<usize> {
    let mut likes = Vec::with_capacity(BATCH);
    let mut total = 0;
    for (index, post_id) in post_ids.iter().enumerate() {
        let j = index + 1;
        for (t, user_no) in likers(j, user_ids.len()).into_iter().enumerate() {
            likes.push((*post_id, user_ids[user_no - 1], EPOCH + 60 * (j as i64 + 1 + t as i64 + 1)));
        }
        if likes.len() >= BATCH || j == post_ids.len() {
            total += likes.len();
            write_likes(tx, &likes).await?;
            likes.clear();
        }
    }
    Ok(total)
}

async fn write_likes(tx: &mut Tx, likes: &[(i64, i64, i64)]) -> anyhow::Result<()> {
    if likes.is_empty() {
        return Ok(());
    }
    let mut query =
        sqlx::query(multi_row("INSERT INTO likes (post_id, user_id, created_at)", "?, ?, ?", likes.len(), ""));
    for &(post, user, at) in likes {
        query = query.bind(post).bind(user).bind(at);
    }
    query.execute(&mut **tx).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{likers, multi_row};

    #[test]
    fn the_like_plan_matches_the_benchmark_contract() {
        assert_eq!((1..=10_000).map(|j| likers(j, 1000).len()).sum::<usize>(), 29_998);
        // Post 6 gets six likes, from users (13·6 + 101·t) mod 1000 + 1.
        assert_eq!(likers(6, 1000), vec![79, 180, 281, 382, 483, 584]);
    }

    #[test]
    fn a_multi_row_insert_numbers_every_placeholder_in_order() {
        let sql = multi_row("INSERT INTO t (a, b, c)", "?, 'x', ?", 2, " RETURNING a");
        assert_eq!(sql.0, "INSERT INTO t (a, b, c) VALUES ($1, 'x', $2), ($3, 'x', $4) RETURNING a");
    }
}
