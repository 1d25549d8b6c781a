//! `shoestring seed`: a deterministic demo and benchmark data set — users, posts, likes and a few
//! images — following the benchmark's seed contract. It is a bulk loader: it writes the tables of
//! both apps directly, in one transaction, which the apps' services (one row at a time, with
//! rate limits) are not meant for.

use std::io::Cursor;
use std::path::PathBuf;

use image::{ImageFormat, Rgb, RgbImage};

use crate::kernel::AppState;
use crate::kernel::db::Tx;
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
    let likes = plan_likes(options.posts, options.users);
    let images = make_images(state, options).await?;
    let post_ids = insert_posts(&mut tx, options.posts, &user_ids, &likes, &images).await?;
    let mut like_total = 0;
    for (j, likers) in likes.iter().enumerate() {
        for (t, user_no) in likers.iter().enumerate() {
            sqlx::query("INSERT INTO likes (post_id, user_id, created_at) VALUES ($1, $2, $3)")
                .bind(post_ids[j])
                .bind(user_ids[user_no - 1])
                .bind(EPOCH + 60 * (j as i64 + 1 + t as i64 + 1))
                .execute(&mut *tx)
                .await?;
            like_total += 1;
        }
    }
    // A bulk load writes rows directly: set the running totals from them.
    for sql in [
        "UPDATE counters SET value = (SELECT COUNT(*) FROM posts) WHERE name = 'posts'",
        "UPDATE counters SET value = (SELECT COUNT(*) FROM users) WHERE name = 'users'",
    ] {
        sqlx::query(sql).execute(&mut *tx).await?;
    }
    tx.commit().await?;
    sqlx::query("ANALYZE").execute(&state.db.pool).await?;
    Ok(Seeded { users: user_ids.len(), posts: post_ids.len(), likes: like_total })
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
    let mut ids = Vec::with_capacity(credentials.len());
    for (i, (username, email, hash, _)) in credentials.iter().enumerate() {
        let number = i + 1;
        let joined = EPOCH - 86_400 + number as i64;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO users (username, username_key, email, email_key, password_hash, nickname, is_active, \
             is_staff, is_superuser, email_confirmed_at, date_joined) \
             VALUES ($1, $1, $2, $2, $3, $4, TRUE, $5, $5, $6, $6) RETURNING id",
        )
        .bind(username)
        .bind(email)
        .bind(hash)
        .bind(format!("User {}", &username[4..]))
        .bind(number == 1)
        .bind(joined)
        .fetch_one(&mut **tx)
        .await?;
        ids.push(id);
    }
    Ok(ids)
}

/// Post j (1-based) gets `j mod 7` likes from users `(13j + 101t) mod N + 1`, duplicates skipped.
fn plan_likes(posts: usize, users: usize) -> Vec<Vec<usize>> {
    (1..=posts)
        .map(|j| {
            let mut likers: Vec<usize> = Vec::new();
            for t in 0..j % 7 {
                let user_no = (13 * j + 101 * t) % users + 1;
                if !likers.contains(&user_no) {
                    likers.push(user_no);
                }
            }
            likers
        })
        .collect()
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
    likes: &[Vec<usize>],
    images: &[(String, String, i64)],
) -> anyhow::Result<Vec<i64>> {
    let mut ids = Vec::with_capacity(posts);
    for j in 1..=posts {
        let author = (j % 100 != 0).then(|| user_ids[(7 * j) % user_ids.len()]);
        let body = format!("Post {j}: {}", &LOREM[..(60 + (37 * j) % 140).min(LOREM.len())]);
        let created = EPOCH + 60 * j as i64;
        // The newest posts carry the images.
        let image = images.get(posts - j);
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO posts (author_id, body, image_key, thumb_key, image_bytes, like_count, client_ip, \
             created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, '127.0.0.1', $7, $7) RETURNING id",
        )
        .bind(author)
        .bind(body)
        .bind(image.map(|i| i.0.as_str()))
        .bind(image.map(|i| i.1.as_str()))
        .bind(image.map_or(0, |i| i.2))
        .bind(likes[j - 1].len() as i64)
        .bind(created)
        .fetch_one(&mut **tx)
        .await?;
        ids.push(id);
    }
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::plan_likes;

    #[test]
    fn the_like_plan_matches_the_benchmark_contract() {
        let plan = plan_likes(10_000, 1000);
        assert_eq!(plan.iter().map(Vec::len).sum::<usize>(), 29_998);
        // Post 6 gets six likes, from users (13·6 + 101·t) mod 1000 + 1.
        assert_eq!(plan[5], vec![79, 180, 281, 382, 483, 584]);
    }
}
