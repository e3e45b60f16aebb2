//! An ordered parallel map: items are produced on one thread, mapped on several, and consumed in
//! their original order on the calling thread — with a bounded number in flight, so memory stays
//! bounded whatever the input size.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, sync_channel};

use crate::Result;

/// How many threads to map with when the caller does not say: the machine's parallelism.
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// Maps `items` with `map` on `threads` threads and hands the results to `consume` in the
/// items' order. Stops at the first error (of the items, `map` or `consume`) and returns it.
pub fn map_ordered<T, U, I, M, C>(items: I, threads: usize, map: M, mut consume: C) -> Result<()>
where
    T: Send,
    U: Send,
    I: Iterator<Item = Result<T>> + Send,
    M: Fn(T) -> Result<U> + Sync,
    C: FnMut(U) -> Result<()>,
{
    let threads = threads.max(1);
    let stop = AtomicBool::new(false);
    let (work_sender, work_receiver) = sync_channel::<(usize, T)>(threads);
    let (result_sender, result_receiver) = sync_channel::<(usize, Result<U>)>(threads * 2);
    let work_receiver = Mutex::new(work_receiver);
    std::thread::scope(|scope| {
        let stop = &stop;
        let producer_results = result_sender.clone();
        scope.spawn(move || {
            for (index, item) in items.enumerate() {
                if stop.load(Ordering::Relaxed) {
                    return;
                }
                match item {
                    Ok(item) => {
                        if work_sender.send((index, item)).is_err() {
                            return;
                        }
                    }
                    Err(error) => {
                        let _ = producer_results.send((index, Err(error)));
                        return;
                    }
                }
            }
        });
        for _ in 0..threads {
            let results = result_sender.clone();
            let (work, map) = (&work_receiver, &map);
            scope.spawn(move || {
                loop {
                    let next = match work.lock() {
                        Ok(receiver) => receiver.recv(),
                        Err(_) => return,
                    };
                    let Ok((index, item)) = next else { return };
                    if stop.load(Ordering::Relaxed) {
                        return;
                    }
                    if results.send((index, map(item))).is_err() {
                        return;
                    }
                }
            });
        }
        drop(result_sender);
        let outcome = consume_in_order(&result_receiver, &mut consume);
        if outcome.is_err() {
            stop.store(true, Ordering::Relaxed);
        }
        // Unblock every sender before the scope joins the threads.
        drop(result_receiver);
        if let Ok(receiver) = work_receiver.lock() {
            while receiver.try_recv().is_ok() {}
        }
        outcome
    })
}

fn consume_in_order<U>(
    results: &Receiver<(usize, Result<U>)>,
    consume: &mut impl FnMut(U) -> Result<()>,
) -> Result<()> {
    let mut waiting: BTreeMap<usize, Result<U>> = BTreeMap::new();
    let mut next = 0;
    for (index, result) in results {
        // An error stops everything at once, even ahead of its turn: nothing after it matters.
        let result = result?;
        waiting.insert(index, Ok(result));
        while let Some(ready) = waiting.remove(&next) {
            consume(ready?)?;
            next += 1;
        }
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::DataError;

    #[test]
    fn results_arrive_in_order_whatever_the_threads() {
        for threads in [1, 2, 5] {
            let mut seen = Vec::new();
            map_ordered(
                (0..200u64).map(Ok),
                threads,
                |x| {
                    if x % 7 == 0 {
                        std::thread::sleep(std::time::Duration::from_millis(1));
                    }
                    Ok(x * x)
                },
                |y| {
                    seen.push(y);
                    Ok(())
                },
            )
            .unwrap();
            assert_eq!(seen, (0..200u64).map(|x| x * x).collect::<Vec<_>>());
        }
    }

    #[test]
    fn the_first_error_stops_the_map() {
        let error = map_ordered(
            (0..10_000u64).map(Ok),
            2,
            |x| {
                if x == 50 {
                    Err(DataError::arrow("item 50", "fifty"))
                } else {
                    Ok(x)
                }
            },
            |_| Ok(()),
        )
        .unwrap_err();
        assert_eq!(error.to_string(), "item 50: fifty");
        let error = map_ordered((0..10_000u64).map(Ok), 2, Ok, |x| {
            if x == 3 {
                Err(DataError::arrow("item 3", "three"))
            } else {
                Ok(())
            }
        })
        .unwrap_err();
        assert_eq!(error.to_string(), "item 3: three");
    }
}
