//! Media files in S3-compatible object storage (`MEDIA_STORE=s3://bucket/prefix`), so several
//! app instances can share them. Every call is bounded by `MEDIA_TIMEOUT_SECS`, retries
//! included: an outage fails an upload quickly (503) instead of holding the request for the
//! client's default ten retries. Also builds the S3 client that backups use.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt;
use futures::stream::BoxStream;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path;
use object_store::{BackoffConfig, ClientOptions, ObjectStore, ObjectStoreExt, RetryConfig};

use super::{MediaStore, StorageUnavailable, is_valid_key};
use crate::kernel::config::StorageSettings;

/// `s3://bucket/some/prefix` split into its bucket and (possibly empty) prefix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct S3Location {
    pub bucket: String,
    pub prefix: String,
}

impl S3Location {
    pub fn parse(url: &str) -> anyhow::Result<Self> {
        let rest = url.strip_prefix("s3://").ok_or_else(|| anyhow::anyhow!("not an s3:// URL: {url}"))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let valid_bucket = (3..=63).contains(&bucket.len())
            && bucket.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
        anyhow::ensure!(valid_bucket, "`{bucket}` is not an S3 bucket name (3-63 lower-case letters, digits, - and .)");
        let prefix = prefix.trim_matches('/').to_owned();
        Path::parse(&prefix).map_err(|e| anyhow::anyhow!("invalid prefix in {url}: {e}"))?;
        Ok(Self { bucket: bucket.to_owned(), prefix })
    }

    /// The object path of `name` under the prefix.
    pub fn path(&self, name: &str) -> Path {
        if self.prefix.is_empty() { Path::from(name) } else { Path::from(format!("{}/{name}", self.prefix)) }
    }

    pub fn prefix_path(&self) -> Option<Path> {
        (!self.prefix.is_empty()).then(|| Path::from(self.prefix.as_str()))
    }
}

/// How patient one client is: media calls sit on a request path, backups move large parts.
#[derive(Clone, Copy, Debug)]
pub struct S3Tuning {
    pub request_timeout: Duration,
    pub max_retries: usize,
    pub retry_timeout: Duration,
}

/// An S3 client for `location` with the endpoint and credentials from the settings.
pub fn build_client(settings: &StorageSettings, location: &S3Location, tuning: S3Tuning) -> anyhow::Result<AmazonS3> {
    let (Some(key_id), Some(secret)) = (&settings.s3_access_key_id, &settings.s3_secret_access_key) else {
        anyhow::bail!("s3:// storage needs S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY");
    };
    let mut options = ClientOptions::new()
        .with_timeout(tuning.request_timeout)
        .with_connect_timeout(Duration::from_secs(3).min(tuning.request_timeout));
    let mut builder = AmazonS3Builder::new()
        .with_bucket_name(&location.bucket)
        .with_region(&settings.s3_region)
        .with_access_key_id(key_id)
        .with_secret_access_key(secret.expose())
        .with_retry(RetryConfig {
            backoff: BackoffConfig {
                init_backoff: Duration::from_millis(100),
                max_backoff: Duration::from_secs(2),
                base: 2.0,
            },
            max_retries: tuning.max_retries,
            retry_timeout: tuning.retry_timeout,
        });
    if let Some(endpoint) = &settings.s3_endpoint {
        // A plain-http endpoint is taken only when written out as such (a MinIO on the LAN).
        options = options.with_allow_http(endpoint.starts_with("http://"));
        builder = builder.with_endpoint(endpoint.trim_end_matches('/'));
    }
    Ok(builder.with_client_options(options).build()?)
}

#[derive(Debug, Clone)]
pub struct S3Storage {
    store: Arc<AmazonS3>,
    location: S3Location,
    timeout: Duration,
}

impl S3Storage {
    pub fn new(settings: &StorageSettings, url: &str) -> anyhow::Result<Self> {
        let location = S3Location::parse(url)?;
        let timeout = Duration::from_secs(settings.media_timeout_secs);
        // Two quick retries inside the overall deadline ride out a dropped connection.
        let tuning = S3Tuning { request_timeout: timeout, max_retries: 2, retry_timeout: timeout };
        let store = Arc::new(build_client(settings, &location, tuning)?);
        Ok(Self { store, location, timeout })
    }

    async fn bounded<T>(
        &self,
        what: &'static str,
        call: impl Future<Output = object_store::Result<T>>,
    ) -> anyhow::Result<object_store::Result<T>> {
        tokio::time::timeout(self.timeout, call).await.map_err(|_| {
            anyhow::Error::new(StorageUnavailable).context(format!("media {what} timed out after {:?}", self.timeout))
        })
    }

    fn key_path(&self, key: &str) -> anyhow::Result<Path> {
        anyhow::ensure!(is_valid_key(key), "invalid media key");
        Ok(self.location.path(key))
    }
}

fn unavailable(what: &'static str, err: object_store::Error) -> anyhow::Error {
    anyhow::Error::new(StorageUnavailable).context(format!("media {what} failed: {err}"))
}

#[async_trait]
impl MediaStore for S3Storage {
    async fn put(&self, key: &str, bytes: Vec<u8>) -> anyhow::Result<()> {
        let path = self.key_path(key)?;
        self.bounded("upload", self.store.put(&path, bytes.into())).await?.map_err(|e| unavailable("upload", e))?;
        Ok(())
    }

    async fn get(&self, key: &str) -> anyhow::Result<Option<Vec<u8>>> {
        let path = self.key_path(key)?;
        let read = async { self.store.get(&path).await?.bytes().await };
        match self.bounded("read", read).await? {
            Ok(bytes) => Ok(Some(bytes.to_vec())),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(unavailable("read", e)),
        }
    }

    async fn delete(&self, key: &str) -> anyhow::Result<()> {
        let path = self.key_path(key)?;
        match self.bounded("delete", self.store.delete(&path)).await? {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(unavailable("delete", e)),
        }
    }

    fn list(&self) -> BoxStream<'_, anyhow::Result<String>> {
        let skip = if self.location.prefix.is_empty() { 0 } else { self.location.prefix.len() + 1 };
        self.store
            .list(self.location.prefix_path().as_ref())
            .map(move |meta| {
                let meta = meta.map_err(|e| unavailable("listing", e))?;
                Ok(meta.location.as_ref().get(skip..).unwrap_or_default().to_owned())
            })
            .filter(|key| std::future::ready(key.as_ref().map_or(true, |k| is_valid_key(k))))
            .boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::S3Location;

    #[test]
    fn s3_urls_name_a_bucket_and_an_optional_prefix() {
        let loc = S3Location::parse("s3://media-bucket/site/uploads/").unwrap();
        assert_eq!((loc.bucket.as_str(), loc.prefix.as_str()), ("media-bucket", "site/uploads"));
        assert_eq!(loc.path("posts/a.jpg").as_ref(), "site/uploads/posts/a.jpg");
        let bare = S3Location::parse("s3://media-bucket").unwrap();
        assert_eq!(bare.path("posts/a.jpg").as_ref(), "posts/a.jpg");
        assert!(S3Location::parse("s3://UPPER/x").is_err());
        assert!(S3Location::parse("https://bucket/x").is_err());
    }
}
