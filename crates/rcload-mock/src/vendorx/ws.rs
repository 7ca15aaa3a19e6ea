//! vendor-x's WebSocket event channel: the model's SSE bytes for the session's stream,
//! translated message by message (`translate`), pings as WebSocket pings. It ends when the
//! model's stream ends (logout, kick after its `SESSION_TERMINATED`, shutdown) or the client
//! goes away; dropping the frames unregisters the stream from the model.

use super::translate::{Item, Splitter};
use axum::extract::ws::{Message, WebSocket};
use bytes::Bytes;
use futures::{Stream, StreamExt};
use std::convert::Infallible;

/// Forward `frames` to `socket` until either side ends.
pub(crate) async fn pump(
    mut socket: WebSocket,
    frames: impl Stream<Item = Result<Bytes, Infallible>> + Send + 'static,
) {
    let mut frames = Box::pin(frames);
    let mut splitter = Splitter::default();
    loop {
        tokio::select! {
            chunk = frames.next() => {
                let Some(Ok(chunk)) = chunk else {
                    let _ = socket.send(Message::Close(None)).await;
                    return;
                };
                for item in splitter.push(&chunk) {
                    let msg = match item {
                        Item::Message(text) => Message::Text(text.into()),
                        Item::Ping => Message::Ping(Bytes::from_static(b"ping")),
                    };
                    if socket.send(msg).await.is_err() {
                        return;
                    }
                }
            }
            incoming = socket.recv() => match incoming {
                // The client's messages mean nothing here; its close or error ends the channel.
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return,
                Some(Ok(_)) => {}
            },
        }
    }
}
