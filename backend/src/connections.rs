//! What one client can hold of the server (issue 15, item 1): at most
//! `MEDIMAIL_MAX_CONNECTIONS` connections at once (the next ones are closed as soon as
//! they are accepted), and the time limits the listener applies (`startup::serve`).

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum_server::accept::Accept;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Accepts a connection only while fewer than the limit are open; the connection holds
/// its place until it closes.
#[derive(Clone)]
pub struct Limited {
    places: Arc<Semaphore>,
}

impl Limited {
    pub fn new(max_connections: usize) -> Self {
        Self {
            places: Arc::new(Semaphore::new(max_connections.max(1))),
        }
    }

    /// How many more connections would be accepted now.
    pub fn available(&self) -> usize {
        self.places.available_permits()
    }
}

impl<I, S> Accept<I, S> for Limited {
    type Stream = Counted<I>;
    type Service = S;
    type Future = std::future::Ready<io::Result<(Counted<I>, S)>>;

    fn accept(&self, stream: I, service: S) -> Self::Future {
        std::future::ready(match self.places.clone().try_acquire_owned() {
            Ok(place) => Ok((
                Counted {
                    inner: stream,
                    _place: place,
                },
                service,
            )),
            // Dropping the stream closes the connection at once.
            Err(_) => Err(io::Error::other("too many connections")),
        })
    }
}

/// A connection and its place among the open ones.
pub struct Counted<I> {
    inner: I,
    _place: OwnedSemaphorePermit,
}

impl<I: AsyncRead + Unpin> AsyncRead for Counted<I> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for Counted<I> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_connection_holds_its_place_until_it_closes() {
        let limited = Limited::new(2);
        let first = limited.accept((), ()).await.expect("first");
        let second = limited.accept((), ()).await.expect("second");
        assert!(
            limited.accept((), ()).await.is_err(),
            "the third is refused"
        );
        drop(first);
        assert_eq!(limited.available(), 1);
        assert!(limited.accept((), ()).await.is_ok(), "a place came free");
        drop(second);
    }
}
