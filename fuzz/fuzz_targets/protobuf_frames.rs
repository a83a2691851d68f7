//! A protobuf watch stream: split into frames at arbitrary chunk boundaries (the first byte
//! picks the chunk size), each frame decoded into a typed and a dynamic event, or an error;
//! never a panic, and never an allocation beyond the frame limit.
#![no_main]

use k8s_openapi::api::core::v1::Pod;
use kube_core::{
    DynamicObject, WatchEvent,
    protobuf::{FrameDecoder, Options, watch_event},
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&chunk, stream)) = data.split_first() else { return };
    let mut frames = FrameDecoder::with_limit(1 << 20);
    for piece in stream.chunks(usize::from(chunk).max(1)) {
        frames.push(piece);
        loop {
            match frames.next_frame() {
                Ok(Some(frame)) => {
                    let full = watch_event::<WatchEvent<Pod>>(&frame, Options::default());
                    let cut =
                        watch_event::<WatchEvent<Pod>>(&frame, Options::default().drop_managed_fields());
                    if let (Ok(WatchEvent::Added(mut a)), Ok(WatchEvent::Added(b))) = (full, cut) {
                        a.metadata.managed_fields = None;
                        assert_eq!(a, b, "the cut changed more than managedFields");
                    }
                    let _ = watch_event::<WatchEvent<DynamicObject>>(&frame, Options::default());
                }
                Ok(None) => break,
                Err(_) => return,
            }
        }
    }
    let _ = frames.finish();
});
