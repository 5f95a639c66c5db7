//! Model-based properties: the queue against asynchat's `initiate_send`,
//! transcribed.

use super::super::producer::SimpleProducer;
use super::*;
use proptest::prelude::*;
use std::collections::VecDeque;

#[derive(Debug, Clone)]
enum Op {
    Push(Vec<u8>),
    Producer(Vec<u8>, usize),
    Close,
    Send(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => prop::collection::vec(any::<u8>(), 0..20).prop_map(Op::Push),
        1 => (prop::collection::vec(any::<u8>(), 0..20), 1usize..10)
            .prop_map(|(d, s)| Op::Producer(d, s)),
        1 => Just(Op::Close),
        4 => (0usize..12).prop_map(Op::Send),
    ]
}

enum Model {
    Data(Vec<u8>),
    Producer(SimpleProducer),
    Close,
}

// The reference loop (AC-CHAT-53) with AC-CHAT-Q-5 (no empty entries). Returns the
// chunk offered, `Ok(None)` for an empty queue, `Err(())` for close.
fn model_send(q: &mut VecDeque<Model>, obs: usize, accept: usize) -> Result<Option<Vec<u8>>, ()> {
    loop {
        match q.front_mut() {
            None => return Ok(None),
            Some(Model::Close) => return Err(()),
            Some(Model::Producer(p)) => {
                let d = p.more().unwrap();
                if d.is_empty() {
                    q.pop_front();
                } else {
                    q.push_front(Model::Data(d));
                }
            }
            Some(Model::Data(first)) => {
                let data = first[..first.len().min(obs)].to_vec();
                let n = accept.min(data.len());
                if n > 0 {
                    if n < data.len() || first.len() > obs {
                        *first = first[n..].to_vec();
                    } else {
                        q.pop_front();
                    }
                }
                return Ok(Some(data));
            }
        }
    }
}

proptest! {
    // Same chunks as the reference for any interleaving of pushes, producers,
    // close markers and partial sends; bytes out = bytes in, in order;
    // `len_bytes` matches.
    #[test]
    fn matches_reference_model(obs in 1usize..8, ops in prop::collection::vec(op(), 0..60)) {
        let mut q = OutQueue::new(obs);
        let mut model: VecDeque<Model> = VecDeque::new();
        let (mut sent_in, mut sent_out) = (Vec::new(), Vec::new());
        let mut closed = false;
        for op in ops.into_iter().chain((0..2000).map(|_| Op::Send(obs))) {
            match op {
                Op::Push(d) => {
                    if !closed { sent_in.extend_from_slice(&d); }
                    for piece in d.chunks(obs) {
                        model.push_back(Model::Data(piece.to_vec()));
                    }
                    q.push(d);
                }
                Op::Producer(d, s) => {
                    if !closed { sent_in.extend_from_slice(&d); }
                    model.push_back(Model::Producer(SimpleProducer::new(d.clone(), s)));
                    q.push_producer(Box::new(SimpleProducer::new(d, s)));
                }
                Op::Close => {
                    closed = true;
                    model.push_back(Model::Close);
                    q.close_when_done();
                }
                Op::Send(accept) => {
                    let expected = model_send(&mut model, obs, accept);
                    match q.front(usize::MAX).unwrap() {
                        Front::Data(d) => {
                            prop_assert_eq!(Ok(Some(d.to_vec())), expected);
                            let n = accept.min(d.len());
                            sent_out.extend_from_slice(&d[..n]);
                            q.consume(n);
                        }
                        Front::Empty => prop_assert_eq!(Ok(None), expected),
                        Front::Close => prop_assert_eq!(Err(()), expected),
                        Front::File { .. } => panic!("no file is pushed here"),
                    }
                }
            }
            let model_bytes: usize = model
                .iter()
                .map(|e| if let Model::Data(d) = e { d.len() } else { 0 })
                .sum();
            prop_assert_eq!(q.len_bytes(), model_bytes);
            prop_assert_eq!(q.is_empty(), model.is_empty());
        }
        prop_assert_eq!(sent_out, sent_in);
    }

    // AC-CHAT-Q-12: with coalescing, any interleaving sends the same byte stream
    // as the reference model (close marker included), every chunk within
    // `out_buffer_size`, and takes no more sends to empty than the reference.
    #[test]
    fn coalescing_keeps_the_stream(obs in 1usize..40, ops in prop::collection::vec(op(), 0..60)) {
        let mut q = OutQueue::new(obs);
        q.set_coalesce(true);
        let mut model: VecDeque<Model> = VecDeque::new();
        let (mut ours, mut theirs) = (Vec::new(), Vec::new());
        let (mut our_sends, mut their_sends) = (0, 0);
        let (mut our_close, mut their_close) = (false, false);
        for op in ops {
            match op {
                Op::Push(d) => {
                    for piece in d.chunks(obs) {
                        model.push_back(Model::Data(piece.to_vec()));
                    }
                    if d.len() % 2 == 0 { q.push(d) } else { q.push(&d[..]) }
                }
                Op::Producer(d, s) => {
                    model.push_back(Model::Producer(SimpleProducer::new(d.clone(), s)));
                    q.push_producer(Box::new(SimpleProducer::new(d, s)));
                }
                Op::Close => {
                    model.push_back(Model::Close);
                    q.close_when_done();
                }
                Op::Send(accept) => {
                    if !our_close {
                        match q.front(usize::MAX).unwrap() {
                            Front::Data(d) => {
                                prop_assert!(d.len() <= obs);
                                let n = accept.min(d.len());
                                ours.extend_from_slice(&d[..n]);
                                q.consume(n);
                            }
                            Front::Close => our_close = true,
                            Front::Empty => {}
                            Front::File { .. } => panic!("no file is pushed here"),
                        }
                    }
                    if !their_close {
                        match model_send(&mut model, obs, accept) {
                            Ok(Some(d)) => theirs.extend_from_slice(&d[..accept.min(d.len())]),
                            Ok(None) => {}
                            Err(()) => their_close = true,
                        }
                    }
                }
            }
        }
        // Drain both with sends the OS takes whole, counting them.
        while !our_close {
            match q.front(usize::MAX).unwrap() {
                Front::Data(d) => {
                    prop_assert!(d.len() <= obs);
                    ours.extend_from_slice(d);
                    let n = d.len();
                    q.consume(n);
                    our_sends += 1;
                }
                Front::Close => our_close = true,
                Front::Empty => break,
                Front::File { .. } => panic!("no file is pushed here"),
            }
        }
        while !their_close {
            match model_send(&mut model, obs, usize::MAX) {
                Ok(Some(d)) => { theirs.extend_from_slice(&d); their_sends += 1; }
                Ok(None) => break,
                Err(()) => their_close = true,
            }
        }
        prop_assert_eq!(our_close, their_close);
        prop_assert_eq!(ours, theirs);
        prop_assert!(our_sends <= their_sends, "{} sends against {}", our_sends, their_sends);
    }
}
