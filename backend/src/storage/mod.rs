//! Attachment blobs (`MEDIMAIL_BLOB_URL`): a local folder by default, or an
//! S3-compatible object store, both through the object_store crate. Blobs are written as
//! streams (never whole in memory) and only become visible once complete: the local store
//! writes a staging file and renames it; S3 completes a multipart upload.
//!
//! Blobs hold ciphertext only (see `crypto`). Their names are random ids; a blob that no
//! attachment row references is an orphan (a send that failed or a crash), removed by
//! [`BlobStore::sweep`].

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures::{StreamExt, TryStreamExt};
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, WriteMultipart};

/// Uploads in flight per blob.
const MAX_PARTS_IN_FLIGHT: usize = 2;

#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("blob store: {0}")]
    Store(#[from] object_store::Error),
    #[error("blob store configuration: {0}")]
    Config(String),
    #[error("blob file: {0}")]
    Io(#[from] std::io::Error),
}

/// Where blobs live.
#[derive(Clone)]
pub struct BlobStore {
    store: Arc<dyn ObjectStore>,
    prefix: ObjectPath,
    /// Part size of streamed writes (S3 needs at least 5 MiB; locally 1 MiB keeps
    /// memory low).
    part_size: usize,
    description: String,
    /// The folder of a local store: its staging files (`<id>#<n>`, left by a crash during
    /// an upload) are invisible to listings and swept by walking the folder.
    local_root: Option<std::path::PathBuf>,
}

impl std::fmt::Debug for BlobStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "BlobStore({})", self.description)
    }
}

impl BlobStore {
    /// A local folder (created if missing).
    pub fn local(dir: &Path) -> Result<Self, BlobError> {
        std::fs::create_dir_all(dir.join("blobs"))
            .map_err(|e| BlobError::Config(format!("cannot create {}: {e}", dir.display())))?;
        let store = object_store::local::LocalFileSystem::new_with_prefix(dir)?;
        Ok(Self {
            store: Arc::new(store),
            prefix: ObjectPath::from("blobs"),
            part_size: 1024 * 1024,
            description: format!("folder {}", dir.display()),
            local_root: Some(dir.to_path_buf()),
        })
    }

    /// From `MEDIMAIL_BLOB_URL`: `file:///path`, `s3://bucket[/prefix]` (credentials,
    /// region and endpoint from the standard `AWS_*` variables, e.g. `AWS_ENDPOINT` for
    /// an S3-compatible store), or unset: `DATA_DIR/blobs`.
    pub fn from_config(url: Option<&str>, data_dir: &Path) -> Result<Self, BlobError> {
        let Some(url) = url else {
            return Self::local(&data_dir.join("blobs"));
        };
        let parsed = url::Url::parse(url).map_err(|e| BlobError::Config(format!("{url}: {e}")))?;
        match parsed.scheme() {
            "file" => {
                let path = parsed
                    .to_file_path()
                    .map_err(|_| BlobError::Config(format!("{url}: not a local path")))?;
                Self::local(&path)
            }
            "s3" => {
                let bucket = parsed
                    .host_str()
                    .ok_or_else(|| BlobError::Config(format!("{url}: no bucket")))?;
                let store = object_store::aws::AmazonS3Builder::from_env()
                    .with_bucket_name(bucket)
                    .build()?;
                Ok(Self {
                    store: Arc::new(store),
                    prefix: ObjectPath::from(parsed.path().trim_matches('/')),
                    part_size: 5 * 1024 * 1024,
                    description: format!("s3://{bucket}{}", parsed.path()),
                    local_root: None,
                })
            }
            other => Err(BlobError::Config(format!(
                "{url}: unsupported scheme {other} (use file:// or s3://)"
            ))),
        }
    }

    pub fn describe(&self) -> &str {
        &self.description
    }

    fn path(&self, id: &str) -> ObjectPath {
        self.prefix.child(id)
    }

    /// Starts writing the blob `id` (a plain file for a local store, written from a
    /// blocking thread; a multipart upload otherwise).
    pub async fn writer(&self, id: &str) -> Result<BlobWriter, BlobError> {
        if let Some(root) = &self.local_root {
            let dir = root.join(self.prefix.as_ref());
            let target = dir.join(id);
            let staging = dir.join(format!("{id}#1"));
            let file = tokio::task::spawn_blocking({
                let staging = staging.clone();
                move || {
                    std::fs::OpenOptions::new()
                        .write(true)
                        .create_new(true)
                        .open(&staging)
                }
            })
            .await
            .map_err(|e| BlobError::Io(std::io::Error::other(e)))??;
            return Ok(BlobWriter::Local(LocalBlobWriter {
                // Writes of 1 MiB: on this kind of VM, half the kernel time of 64 KiB ones.
                file: Some(std::io::BufWriter::with_capacity(1024 * 1024, file)),
                staging,
                target,
            }));
        }
        let upload = self.store.put_multipart(&self.path(id)).await?;
        Ok(BlobWriter::Remote(RemoteBlobWriter {
            inner: WriteMultipart::new_with_chunk_size(upload, self.part_size),
        }))
    }

    /// The blob's bytes as a stream. A local blob is read by one blocking thread in
    /// pieces of 256 KiB (object_store's local reads are small and each its own blocking
    /// task: 4× slower than a static file).
    pub async fn read(
        &self,
        id: &str,
    ) -> Result<futures::stream::BoxStream<'static, Result<Bytes, BlobError>>, BlobError> {
        if let Some(root) = &self.local_root {
            let path = root.join(self.prefix.as_ref()).join(id);
            let file = match tokio::task::spawn_blocking(move || std::fs::File::open(path))
                .await
                .map_err(|e| BlobError::Io(std::io::Error::other(e)))?
            {
                Ok(f) => f,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    return Err(BlobError::Store(object_store::Error::NotFound {
                        path: id.to_owned(),
                        source: Box::new(e),
                    }));
                }
                Err(e) => return Err(e.into()),
            };
            let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, BlobError>>(4);
            // Each piece is read on a blocking thread, and handed on here, asynchronously:
            // a client that does not read its download holds no thread of the shared
            // blocking pool, only this task and its few pieces (issue 15, item 1).
            tokio::spawn(async move {
                let mut file = file;
                loop {
                    let read = tokio::task::spawn_blocking(move || {
                        let piece = read_piece(&mut file);
                        (file, piece)
                    })
                    .await;
                    let piece = match read {
                        Ok((f, piece)) => {
                            file = f;
                            piece
                        }
                        Err(e) => {
                            let _ = tx.send(Err(BlobError::Io(std::io::Error::other(e)))).await;
                            return;
                        }
                    };
                    match piece {
                        Err(e) => {
                            let _ = tx.send(Err(e.into())).await;
                            return;
                        }
                        Ok(buf) if buf.is_empty() => return,
                        Ok(buf) => {
                            let last = buf.len() < PIECE;
                            if tx.send(Ok(Bytes::from(buf))).await.is_err() || last {
                                return;
                            }
                        }
                    }
                }
            });
            return Ok(futures::stream::unfold(rx, |mut rx| async move {
                rx.recv().await.map(|item| (item, rx))
            })
            .boxed());
        }
        let result = self.store.get(&self.path(id)).await?;
        Ok(result.into_stream().map_err(BlobError::from).boxed())
    }

    /// Deletes the blob; a missing blob is not an error.
    pub async fn delete(&self, id: &str) -> Result<(), BlobError> {
        match self.store.delete(&self.path(id)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Every blob id with its last modification time.
    pub async fn list(&self) -> Result<Vec<(String, DateTime<Utc>)>, BlobError> {
        let mut out = Vec::new();
        let mut listing = self.store.list(Some(&self.prefix));
        while let Some(meta) = listing.next().await {
            let meta = meta?;
            if let Some(name) = meta.location.filename() {
                out.push((name.to_owned(), meta.last_modified));
            }
        }
        Ok(out)
    }

    /// Deletes the blobs not in `referenced` and older than `older_than` (blobs younger
    /// than that may belong to a send in progress). Returns how many were deleted.
    pub async fn sweep(
        &self,
        referenced: &HashSet<String>,
        older_than: DateTime<Utc>,
    ) -> Result<usize, BlobError> {
        let mut removed = 0;
        for (id, modified) in self.list().await? {
            if !referenced.contains(&id) && modified < older_than {
                self.delete(&id).await?;
                removed += 1;
            }
        }
        if let Some(root) = &self.local_root {
            removed += sweep_staging(&root.join(self.prefix.as_ref()), referenced, older_than);
        }
        Ok(removed)
    }
}

/// Removes the staging files (`<id>#<n>`) of uploads a crash interrupted (not those of
/// the blobs in `kept`: uploads still going on).
fn sweep_staging(dir: &Path, kept: &HashSet<String>, older_than: DateTime<Utc>) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let path = entry.path();
        let staging = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.split_once('#'))
            .is_some_and(|(id, _)| !kept.contains(id));
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .map(|t| DateTime::<Utc>::from(t) < older_than)
            .unwrap_or(false);
        if staging && old && std::fs::remove_file(&path).is_ok() {
            removed += 1;
        }
    }
    removed
}

/// A blob being written; invisible until finished.
pub enum BlobWriter {
    Local(LocalBlobWriter),
    Remote(RemoteBlobWriter),
}

/// A blob of a local store being written: a staging file `<id>#1`, renamed once
/// complete and flushed to disk. Blocking: use it from a blocking thread. Dropped
/// unfinished (an error, a panic), it removes its staging file.
pub struct LocalBlobWriter {
    file: Option<std::io::BufWriter<std::fs::File>>,
    staging: std::path::PathBuf,
    target: std::path::PathBuf,
}

impl std::io::Write for LocalBlobWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match &mut self.file {
            Some(f) => f.write(buf),
            None => Err(std::io::Error::other("blob already closed")),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl LocalBlobWriter {
    /// Flushes the file to disk, then makes the blob visible under its name.
    pub fn finish(mut self) -> Result<(), BlobError> {
        let file = self.file.take().expect("a writer is finished once");
        let file = file.into_inner().map_err(|e| e.into_error())?;
        file.sync_data()?;
        drop(file);
        std::fs::rename(&self.staging, &self.target)?;
        Ok(())
    }

    /// Drops what was written.
    pub fn abort(self) {
        drop(self);
    }
}

impl Drop for LocalBlobWriter {
    fn drop(&mut self) {
        if self.file.take().is_some() {
            let _ = std::fs::remove_file(&self.staging);
        }
    }
}

/// A blob of an object store being written (multipart upload).
pub struct RemoteBlobWriter {
    inner: WriteMultipart,
}

impl RemoteBlobWriter {
    /// Appends an owned buffer without copying it, waiting while too many parts are in
    /// flight (back-pressure, so that memory stays bounded whatever the upload speed).
    pub async fn put(&mut self, bytes: Vec<u8>) -> Result<(), BlobError> {
        self.inner.wait_for_capacity(MAX_PARTS_IN_FLIGHT).await?;
        self.inner.put(Bytes::from(bytes));
        Ok(())
    }

    /// Makes the blob visible.
    pub async fn finish(self) -> Result<(), BlobError> {
        self.inner.finish().await?;
        Ok(())
    }

    /// Drops what was written.
    pub async fn abort(self) -> Result<(), BlobError> {
        self.inner.abort().await?;
        Ok(())
    }
}

impl BlobWriter {
    /// Appends bytes. For a local store this writes from the calling thread: for small
    /// blobs and tests; streams go through a blocking thread (see `envelope::send`).
    pub async fn write(&mut self, bytes: &[u8]) -> Result<(), BlobError> {
        match self {
            BlobWriter::Local(w) => {
                std::io::Write::write_all(w, bytes)?;
                Ok(())
            }
            BlobWriter::Remote(w) => w.put(bytes.to_vec()).await,
        }
    }

    /// Makes the blob visible.
    pub async fn finish(self) -> Result<(), BlobError> {
        match self {
            BlobWriter::Local(w) => tokio::task::spawn_blocking(move || w.finish())
                .await
                .map_err(|e| BlobError::Io(std::io::Error::other(e)))?,
            BlobWriter::Remote(w) => w.finish().await,
        }
    }

    /// Drops what was written.
    pub async fn abort(self) -> Result<(), BlobError> {
        match self {
            BlobWriter::Local(w) => {
                w.abort();
                Ok(())
            }
            BlobWriter::Remote(w) => w.abort().await,
        }
    }
}

/// The size of the pieces a local blob is read in.
const PIECE: usize = 256 * 1024;

/// The next piece of `file` (blocking): [`PIECE`] bytes, fewer at the end of the file
/// (short reads are filled), none once it is read.
fn read_piece(file: &mut std::fs::File) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut buf = vec![0u8; PIECE];
    let mut filled = 0;
    loop {
        match file.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => {
                filled += n;
                if filled == buf.len() {
                    break;
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    buf.truncate(filled);
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn read_all(store: &BlobStore, id: &str) -> Vec<u8> {
        let mut out = Vec::new();
        let mut s = Box::pin(store.read(id).await.expect("exists"));
        while let Some(chunk) = s.next().await {
            out.extend_from_slice(&chunk.expect("chunk"));
        }
        out
    }

    #[tokio::test]
    async fn a_blob_appears_only_once_finished_and_streams_back_identical() {
        let dir = tempfile::tempdir().expect("dir");
        let store = BlobStore::local(dir.path()).expect("store");
        let data: Vec<u8> = (0..3_500_000u32).map(|i| (i % 253) as u8).collect();
        let mut w = store.writer("b1").await.expect("writer");
        for part in data.chunks(70_001) {
            w.write(part).await.expect("write");
        }
        assert!(
            store.list().await.expect("list").is_empty(),
            "invisible while written"
        );
        w.finish().await.expect("finish");
        assert_eq!(read_all(&store, "b1").await, data);
        let ids: Vec<String> = store
            .list()
            .await
            .expect("list")
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        assert_eq!(ids, vec!["b1".to_owned()]);
    }

    #[tokio::test]
    async fn an_aborted_blob_leaves_nothing_and_the_sweep_removes_only_old_orphans() {
        let dir = tempfile::tempdir().expect("dir");
        let store = BlobStore::local(dir.path()).expect("store");
        let mut w = store.writer("aborted").await.expect("writer");
        w.write(&[1; 2_000_000]).await.expect("write");
        w.abort().await.expect("abort");
        for id in ["kept", "orphan"] {
            let mut w = store.writer(id).await.expect("writer");
            w.write(b"x").await.expect("write");
            w.finish().await.expect("finish");
        }
        let files: usize = walk(dir.path());
        assert_eq!(files, 2, "no staging file left by the abort");
        let referenced = HashSet::from(["kept".to_owned()]);
        assert_eq!(
            store
                .sweep(&referenced, Utc::now() - chrono::Duration::hours(1))
                .await
                .expect("sweep"),
            0,
            "young orphans wait"
        );
        assert_eq!(
            store
                .sweep(&referenced, Utc::now() + chrono::Duration::seconds(1))
                .await
                .expect("sweep"),
            1
        );
        let left: Vec<String> = store
            .list()
            .await
            .expect("list")
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        assert_eq!(left, vec!["kept".to_owned()]);
        store.delete("never-existed").await.expect("idempotent");
    }

    #[tokio::test]
    async fn the_sweep_removes_the_staging_file_of_an_interrupted_upload() {
        let dir = tempfile::tempdir().expect("dir");
        let store = BlobStore::local(dir.path()).expect("store");
        let mut w = store.writer("crashed").await.expect("writer");
        w.write(&[7; 3_000_000]).await.expect("write");
        // The process "dies": the writer is forgotten, neither finished nor aborted.
        std::mem::forget(w);
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        assert!(walk(dir.path()) >= 1, "a staging file exists");
        let removed = store
            .sweep(&HashSet::new(), Utc::now() + chrono::Duration::seconds(1))
            .await
            .expect("sweep");
        assert!(removed >= 1);
        assert_eq!(walk(dir.path()), 0);
    }

    fn walk(dir: &Path) -> usize {
        std::fs::read_dir(dir)
            .expect("dir")
            .map(|e| {
                let p = e.expect("entry").path();
                if p.is_dir() { walk(&p) } else { 1 }
            })
            .sum()
    }

    #[test]
    fn the_configuration_names_a_folder_or_a_bucket() {
        let dir = tempfile::tempdir().expect("dir");
        let default = BlobStore::from_config(None, dir.path()).expect("default");
        assert!(default.describe().ends_with("blobs"));
        let url = format!("file://{}/elsewhere", dir.path().display());
        assert!(BlobStore::from_config(Some(&url), dir.path()).is_ok());
        assert!(BlobStore::from_config(Some("ftp://x/y"), dir.path()).is_err());
    }
}
