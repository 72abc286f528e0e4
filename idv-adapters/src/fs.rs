//! Blob store on the local file system: one file per blob under a root folder.
//!
//! Writes go to a temporary file that is synced and renamed into place, so a reader never sees
//! half an image and a crash never leaves one.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use idv_core::ports::BlobStore;
use idv_core::{Error, Result};
use tokio::io::AsyncWriteExt;

/// Blobs as files below `root`.
#[derive(Debug, Clone)]
pub struct FsBlobStore {
    root: PathBuf,
}

impl FsBlobStore {
    /// Uses `root`, creating it when missing.
    pub async fn open(root: impl Into<PathBuf>) -> Result<Self> {
        let root = root.into();
        if !tokio::fs::try_exists(&root).await.unwrap_or(false) {
            tokio::fs::create_dir_all(&root)
                .await
                .map_err(|e| map_err(&root, e))?;
            private(&root).await.map_err(|e| map_err(&root, e))?;
        }
        Ok(Self { root })
    }

    fn path(&self, key: &str) -> Result<PathBuf> {
        crate::blob_key::check(key)?;
        Ok(self.root.join(key))
    }
}

/// Identity images are for this service only: a root it creates is readable by its owner
/// alone, which covers every folder and file below it. An existing root keeps the permissions
/// its operator gave it.
#[cfg(unix)]
async fn private(root: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    tokio::fs::set_permissions(root, std::fs::Permissions::from_mode(0o700)).await
}

#[cfg(not(unix))]
async fn private(_root: &Path) -> std::io::Result<()> {
    Ok(())
}

/// The one place where file-system errors become core errors.
fn map_err(path: &Path, error: std::io::Error) -> Error {
    match error.kind() {
        ErrorKind::NotFound => Error::NotFound { what: "blob" },
        _ => Error::Unavailable(format!("blob store at {}: {error}", path.display())),
    }
}

#[async_trait]
impl BlobStore for FsBlobStore {
    async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<()> {
        let path = self.path(key)?;
        let dir = path
            .parent()
            .expect("a checked key has a parent below the root");
        tokio::fs::create_dir_all(dir)
            .await
            .map_err(|e| map_err(dir, e))?;
        let temp = path.with_extension(format!("tmp-{}", std::process::id()));
        let write = async {
            let mut file = tokio::fs::File::create(&temp).await?;
            file.write_all(&bytes).await?;
            file.sync_all().await?;
            tokio::fs::rename(&temp, &path).await
        };
        if let Err(e) = write.await {
            let _ = tokio::fs::remove_file(&temp).await;
            return Err(map_err(&path, e));
        }
        tracing::debug!(bytes = bytes.len(), "blob stored");
        Ok(())
    }

    async fn get(&self, key: &str) -> Result<Vec<u8>> {
        let path = self.path(key)?;
        tokio::fs::read(&path).await.map_err(|e| map_err(&path, e))
    }

    async fn delete_prefix(&self, prefix: &str) -> Result<()> {
        let path = self.path(prefix)?;
        match tokio::fs::remove_dir_all(&path).await {
            Err(e) if e.kind() != ErrorKind::NotFound => Err(map_err(&path, e)),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[tokio::test]
    async fn passes_the_blob_conformance_suite() {
        let dir = std::env::temp_dir().join(format!("idv-fs-suite-{}", std::process::id()));
        let store = FsBlobStore::open(&dir).await.unwrap();
        idv_core::testing::blob_suite(Arc::new(store)).await;
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
