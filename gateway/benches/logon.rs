//! What a logon's password check costs (criterion): one Argon2id
//! verification with the parameters `gateway-accounts` hashes with, the
//! work the `logon-check` thread does per `Logon` (docs/performance.md,
//! "Logon verification").

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use gateway::auth::{hash_password, verify_password};

fn logon(c: &mut Criterion) {
    let hash = hash_password(b"a password").expect("hashes");
    let mut group = c.benchmark_group("logon");
    group.sample_size(20);
    group.bench_function("verify/right", |b| {
        b.iter(|| assert!(verify_password(black_box(&hash), b"a password")))
    });
    group.bench_function("verify/wrong", |b| {
        b.iter(|| assert!(!verify_password(black_box(&hash), b"a guess")))
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(5));
    targets = logon
}
criterion_main!(benches);
