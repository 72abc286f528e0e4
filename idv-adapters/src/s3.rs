//! Blob store on Amazon S3 or an S3-compatible server: one object per blob, under a key prefix
//! in one bucket.
//!
//! Credentials come from the usual AWS chain (environment, profile files, web identity, container
//! and instance metadata); the region from [`S3Config::region`], else that chain, else
//! `us-east-1`. HTTPS is rustls with the ring provider, so the build needs no C toolchain for
//! aws-lc.

use async_trait::async_trait;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_s3::config::Region;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{Delete, ObjectIdentifier};
use aws_sdk_s3::Client;
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
use idv_core::ports::BlobStore;
use idv_core::{Error, Result};

/// The region when neither the configuration nor the AWS chain names one; S3-compatible
/// servers mostly ignore it, but requests must be signed for some region.
const DEFAULT_REGION: &str = "us-east-1";

/// The most keys one DeleteObjects request may name, an S3 limit; also our listing page size.
const MAX_BATCH: usize = 1000;

/// Where the blobs are kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Config {
    pub bucket: String,
    /// Key prefix without leading or trailing `/`; empty for the whole bucket.
    pub prefix: String,
    /// URL of an S3-compatible server (`IDV_S3_ENDPOINT`); `None` for AWS itself.
    pub endpoint: Option<String>,
    /// Address buckets as `endpoint/bucket` rather than `bucket.endpoint`, as most
    /// S3-compatible servers need.
    pub force_path_style: bool,
    /// `None` for the region of the AWS environment or profile, else `us-east-1`.
    pub region: Option<String>,
}

impl S3Config {
    /// Reads `s3://bucket` or `s3://bucket/some/prefix` (the value of `IDV_BLOB_URL`), for AWS
    /// itself: set `endpoint` and `force_path_style` for other servers.
    pub fn from_url(url: &str) -> Result<Self> {
        let bad =
            |why: &str| Error::invalid("IDV_BLOB_URL", "invalid_url", format!("{url:?}: {why}"));
        let rest = url
            .strip_prefix("s3://")
            .ok_or_else(|| bad("expected s3://bucket/prefix"))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if !is_bucket_name(bucket) {
            return Err(bad("not a bucket name (3 to 63 of a-z, 0-9, '.' and '-')"));
        }
        let prefix = prefix.trim_end_matches('/');
        if !prefix.is_empty() && crate::blob_key::check(prefix).is_err() {
            return Err(bad(
                "the prefix must be '/'-separated names of A-Z a-z 0-9 _ - .",
            ));
        }
        Ok(Self {
            bucket: bucket.to_owned(),
            prefix: prefix.to_owned(),
            endpoint: None,
            force_path_style: false,
            region: None,
        })
    }

    /// The store as `s3://bucket/prefix`, for messages.
    fn url(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.prefix)
    }
}

/// S3's rule for bucket names, less its rarer exceptions (which S3 itself then refuses).
fn is_bucket_name(name: &str) -> bool {
    let edge_ok = |b: Option<u8>| b.is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    (3..=63).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
        && edge_ok(name.bytes().next())
        && edge_ok(name.bytes().last())
}

/// Blobs as objects in an S3 bucket.
#[derive(Debug, Clone)]
pub struct S3BlobStore {
    config: S3Config,
    client: Client,
}

impl S3BlobStore {
    /// Connects with the AWS credentials of the environment and checks that the bucket can be
    /// used, so that a wrong setting shows at start-up rather than at the first upload.
    pub async fn connect(config: S3Config) -> Result<Self> {
        let shared = shared_aws_config(&config).await;
        Self::connect_with(config, aws_sdk_s3::config::Builder::from(&shared)).await
    }

    /// [`Self::connect`] on given AWS settings (tests use it to swap the credentials).
    async fn connect_with(config: S3Config, aws: aws_sdk_s3::config::Builder) -> Result<Self> {
        let mut aws = aws.force_path_style(config.force_path_style);
        if let Some(endpoint) = &config.endpoint {
            aws = aws.endpoint_url(endpoint);
        }
        let store = Self {
            client: Client::from_conf(aws.build()),
            config,
        };
        store
            .client
            .head_bucket()
            .bucket(&store.config.bucket)
            .send()
            .await
            .map_err(|e| map_err(&store.config, e))?;
        let (url, endpoint) = (store.config.url(), &store.config.endpoint);
        tracing::debug!(%url, ?endpoint, "S3 blob store connected");
        Ok(store)
    }

    /// The object key of a blob key: below the prefix, after the same check as every store.
    fn object_key(&self, key: &str) -> Result<String> {
        crate::blob_key::check(key)?;
        Ok(match self.config.prefix.as_str() {
            "" => key.to_owned(),
            prefix => format!("{prefix}/{key}"),
        })
    }

    /// Deletes one page of keys; S3 answers with the keys it could not delete.
    async fn delete_batch(&self, keys: Vec<String>) -> Result<()> {
        let objects = keys
            .into_iter()
            .map(|key| ObjectIdentifier::builder().key(key).build())
            .collect::<Result<Vec<_>, _>>()
            .map_err(Error::internal)?;
        let delete = Delete::builder()
            .set_objects(Some(objects))
            .quiet(true)
            .build()
            .map_err(Error::internal)?;
        let output = self
            .client
            .delete_objects()
            .bucket(&self.config.bucket)
            .delete(delete)
            .send()
            .await
            .map_err(|e| map_err(&self.config, e))?;
        match output.errors().first() {
            None => Ok(()),
            Some(first) => Err(Error::Unavailable(format!(
                "blob store {}: {} objects not deleted, such as {:?}: {}",
                self.config.url(),
                output.errors().len(),
                first.key().unwrap_or_default(),
                first
                    .message()
                    .or(first.code())
                    .unwrap_or("no reason given"),
            ))),
        }
    }
}

/// The AWS settings of the environment and profile files, over our own HTTPS client.
async fn shared_aws_config(config: &S3Config) -> SdkConfig {
    // The SDK's default client would use aws-lc; ring builds without a C toolchain.
    let http_client = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .build_https();
    // The loader's own region chain, not a separate one: it needs the loader's HTTP client to
    // ask the instance metadata service.
    let mut loader = aws_config::defaults(BehaviorVersion::latest()).http_client(http_client);
    if let Some(region) = &config.region {
        loader = loader.region(Region::new(region.clone()));
    }
    let shared = loader.load().await;
    match shared.region() {
        Some(_) => shared,
        None => shared
            .into_builder()
            .region(Region::from_static(DEFAULT_REGION))
            .build(),
    }
}

/// The one place where S3 errors become core errors. The message names the setting to look at.
fn map_err<E>(config: &S3Config, error: SdkError<E>) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    if error.code() == Some("NoSuchKey") {
        return Error::NotFound { what: "blob" };
    }
    let status = error.raw_response().map(|r| r.status().as_u16());
    let why = match (&error, status) {
        (SdkError::TimeoutError(_), _) => unreachable_server(config),
        (SdkError::DispatchFailure(f), _) if f.is_io() || f.is_timeout() => {
            unreachable_server(config)
        }
        (_, Some(401 | 403)) => format!(
            "IDV_BLOB_URL: access to bucket {:?} denied; check the AWS credentials",
            config.bucket
        ),
        (_, Some(404)) => format!("IDV_BLOB_URL: there is no bucket {:?}", config.bucket),
        _ => format!(
            "cannot use {} (check IDV_BLOB_URL, IDV_S3_ENDPOINT and the AWS credentials)",
            config.url()
        ),
    };
    Error::Unavailable(format!("{why}: {}", causes(&error)))
}

/// The error and its causes on one line; the SDK's own `DisplayErrorContext` appends a debug
/// dump of the whole response.
fn causes(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text = format!("{text}: {cause}");
        source = cause.source();
    }
    text
}

fn unreachable_server(config: &S3Config) -> String {
    match &config.endpoint {
        Some(endpoint) => format!("IDV_S3_ENDPOINT: cannot reach {endpoint}"),
        None => "IDV_S3_ENDPOINT: unset, and AWS S3 cannot be reached".to_owned(),
    }
}

#[async_trait]
impl BlobStore for S3BlobStore {
    async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<()> {
        let object_key = self.object_key(key)?;
        let len = bytes.len();
        self.client
            .put_object()
            .bucket(&self.config.bucket)
            .key(&object_key)
            .body(ByteStream::from(bytes))
            .send()
            .await
            .map_err(|e| map_err(&self.config, e))?;
        tracing::debug!(key = %object_key, bytes = len, "blob stored");
        Ok(())
    }

    async fn get(&self, key: &str) -> Result<Vec<u8>> {
        let object_key = self.object_key(key)?;
        let output = self
            .client
            .get_object()
            .bucket(&self.config.bucket)
            .key(&object_key)
            .send()
            .await
            .map_err(|e| map_err(&self.config, e))?;
        // The body streams after the response headers, so it can still break off here.
        let body = output.body.collect().await.map_err(|e| {
            Error::Unavailable(format!(
                "blob store {}: reading {object_key}: {e}",
                self.config.url()
            ))
        })?;
        Ok(body.to_vec())
    }

    async fn delete_prefix(&self, prefix: &str) -> Result<()> {
        // The trailing `/` keeps `a` from matching `ab/...`.
        let folder = format!("{}/", self.object_key(prefix)?);
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(&self.config.bucket)
            .prefix(&folder)
            .max_keys(MAX_BATCH as i32)
            .into_paginator()
            .send();
        let mut deleted = 0;
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| map_err(&self.config, e))?;
            let keys: Vec<String> = page
                .contents()
                .iter()
                .filter_map(|o| o.key())
                .map(str::to_owned)
                .collect();
            // Servers may return more than asked for; S3 refuses bigger delete batches.
            for batch in keys.chunks(MAX_BATCH) {
                self.delete_batch(batch.to_vec()).await?;
                deleted += batch.len();
            }
        }
        tracing::debug!(prefix = %folder, deleted, "blobs deleted");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_s3::config::Credentials;
    use rand::RngCore;
    use std::sync::Arc;

    /// Where every test run puts its objects, each run below its own random folder.
    const TEST_ROOT: &str = "idv-tests";

    /// The test server's endpoint and bucket, or `None` when the S3 tests are skipped on purpose.
    fn test_server() -> Option<(String, String)> {
        let endpoint = std::env::var("IDV_TEST_S3_ENDPOINT").unwrap_or_default();
        if endpoint.is_empty() {
            if std::env::var("IDV_SKIP_S3_TESTS").as_deref() == Ok("1") {
                eprintln!("S3 tests skipped: IDV_SKIP_S3_TESTS=1");
                return None;
            }
            panic!(
                "IDV_TEST_S3_ENDPOINT is not set. Start the test server from the workspace root \
                 with `eval \"$(.ci/s3-server start)\"` (and `.ci/s3-server stop` afterwards), \
                 or set IDV_SKIP_S3_TESTS=1 to skip the S3 tests."
            );
        }
        let bucket = std::env::var("IDV_TEST_S3_BUCKET")
            .expect("IDV_TEST_S3_BUCKET is not set; `eval \"$(.ci/s3-server start)\"` sets it");
        Some((endpoint, bucket))
    }

    fn random_name() -> String {
        let mut bytes = [0u8; 8];
        rand::thread_rng().fill_bytes(&mut bytes);
        hex::encode(bytes)
    }

    fn config(endpoint: &str, bucket: &str, prefix: String) -> S3Config {
        S3Config {
            bucket: bucket.to_owned(),
            prefix,
            endpoint: Some(endpoint.to_owned()),
            force_path_style: true,
            region: None,
        }
    }

    /// A store on a fresh random prefix of the test bucket.
    struct TestStore {
        store: S3BlobStore,
        endpoint: String,
        bucket: String,
        run: String,
    }

    impl TestStore {
        async fn new() -> Option<Self> {
            let (endpoint, bucket) = test_server()?;
            let run = random_name();
            let prefix = format!("{TEST_ROOT}/{run}");
            let store = S3BlobStore::connect(config(&endpoint, &bucket, prefix))
                .await
                .unwrap();
            Some(Self {
                store,
                endpoint,
                bucket,
                run,
            })
        }

        /// Deletes everything the test stored and checks that nothing is left.
        async fn clean_up(self) {
            let root = config(&self.endpoint, &self.bucket, TEST_ROOT.to_owned());
            let root = S3BlobStore::connect(root).await.unwrap();
            root.delete_prefix(&self.run).await.unwrap();
            assert_eq!(self.object_count().await, 0, "objects left after the test");
        }

        async fn object_count(&self) -> usize {
            let mut pages = self
                .store
                .client
                .list_objects_v2()
                .bucket(&self.bucket)
                .prefix(format!("{}/", self.store.config.prefix))
                .into_paginator()
                .send();
            let mut count = 0;
            while let Some(page) = pages.next().await {
                count += page.unwrap().contents().len();
            }
            count
        }
    }

    #[tokio::test]
    async fn passes_the_blob_conformance_suite() {
        let Some(test) = TestStore::new().await else {
            return;
        };
        idv_core::testing::blob_suite(Arc::new(test.store.clone())).await;
        test.clean_up().await;
    }

    #[tokio::test]
    async fn round_trips_a_five_megabyte_blob() {
        let Some(test) = TestStore::new().await else {
            return;
        };
        let mut bytes = vec![0u8; 5 * 1024 * 1024];
        rand::thread_rng().fill_bytes(&mut bytes);
        test.store.put("big/blob", bytes.clone()).await.unwrap();
        let read = test.store.get("big/blob").await.unwrap();
        // Not assert_eq: a failure would print ten million hex digits.
        assert!(
            read == bytes,
            "read {} bytes that differ from the {} stored",
            read.len(),
            5 << 20
        );
        test.clean_up().await;
    }

    #[tokio::test]
    async fn deletes_a_prefix_of_more_than_one_batch() {
        let Some(test) = TestStore::new().await else {
            return;
        };
        let count = MAX_BATCH + 100;
        // Concurrent puts, a hundred at a time, to keep the test short.
        for start in (0..count).step_by(100) {
            let mut puts = tokio::task::JoinSet::new();
            for i in start..(start + 100).min(count) {
                let store = test.store.clone();
                puts.spawn(async move { store.put(&format!("many/{i:05}"), vec![i as u8]).await });
            }
            while let Some(put) = puts.join_next().await {
                put.unwrap().unwrap();
            }
        }
        test.store.put("many-kept/x", b"x".to_vec()).await.unwrap();
        assert_eq!(test.object_count().await, count + 1);

        test.store.delete_prefix("many").await.unwrap();
        assert_eq!(test.object_count().await, 1, "only many-kept/x is left");
        assert!(matches!(
            test.store.get("many/01099").await,
            Err(Error::NotFound { .. })
        ));
        test.clean_up().await;
    }

    #[tokio::test]
    async fn wrong_credentials_fail_at_connect() {
        let Some((endpoint, bucket)) = test_server() else {
            return;
        };
        let config = config(&endpoint, &bucket, random_name());
        let wrong = Credentials::new("idv-wrong", "not-the-secret", None, None, "test");
        let aws = aws_sdk_s3::config::Builder::from(&shared_aws_config(&config).await)
            .credentials_provider(wrong);
        match S3BlobStore::connect_with(config, aws).await {
            Err(Error::Unavailable(message)) => {
                assert!(message.contains("IDV_BLOB_URL"), "{message}");
                assert!(message.contains("credentials"), "{message}");
            }
            other => panic!("expected Unavailable, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_missing_bucket_fails_at_connect() {
        let Some((endpoint, _)) = test_server() else {
            return;
        };
        let config = config(&endpoint, "idv-no-such-bucket", random_name());
        match S3BlobStore::connect(config).await {
            Err(Error::Unavailable(message)) => {
                assert!(
                    message.contains("IDV_BLOB_URL: there is no bucket"),
                    "{message}"
                )
            }
            other => panic!("expected Unavailable, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn an_unreachable_endpoint_fails_at_connect() {
        // Port 9 (discard) is closed on test machines, so the connection is refused at once.
        let config = S3Config {
            // Else the AWS chain may ask the instance metadata service, which takes a while.
            region: Some(DEFAULT_REGION.to_owned()),
            ..config("http://127.0.0.1:9", "idv-test", random_name())
        };
        let test_only = Credentials::new("idv", "idv", None, None, "test");
        let aws = aws_sdk_s3::config::Builder::from(&shared_aws_config(&config).await)
            .credentials_provider(test_only);
        match S3BlobStore::connect_with(config, aws).await {
            Err(Error::Unavailable(message)) => {
                assert!(
                    message.contains("IDV_S3_ENDPOINT: cannot reach"),
                    "{message}"
                )
            }
            other => panic!("expected Unavailable, got {other:?}"),
        }
    }

    #[test]
    fn reads_blob_urls() {
        let config = S3Config::from_url("s3://idv-images/prod/blobs/").unwrap();
        assert_eq!(
            (config.bucket.as_str(), config.prefix.as_str()),
            ("idv-images", "prod/blobs")
        );
        assert_eq!(S3Config::from_url("s3://idv-images").unwrap().prefix, "");
        for bad in [
            "file:///tmp",
            "s3://",
            "s3://Upper/x",
            "s3://ab",
            "s3://b-/x",
            "s3://bkt/a//b",
        ] {
            match S3Config::from_url(bad) {
                Err(Error::Invalid { field, .. }) => assert_eq!(field, "IDV_BLOB_URL"),
                other => panic!("{bad:?} gave {other:?}"),
            }
        }
    }
}
