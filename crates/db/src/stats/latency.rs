//! The latency histogram: buckets and quantiles.

/// The histogram bucket of a latency: exact below 16 ms, then 8 buckets per power of two
/// (each at most 12.5% wide).
pub fn latency_bucket(ms: i64) -> i32 {
    let v = ms.max(0) as u64;
    if v < 16 {
        return v as i32;
    }
    let e = 63 - v.leading_zeros(); // floor(log2 v), ≥ 4
    let sub = (v >> (e - 3)) & 7;
    (16 + (e - 4) * 8 + sub as u32) as i32
}

/// The half-open range `[low, high)` of latencies in milliseconds a bucket holds.
pub fn bucket_bounds(bucket: i32) -> (f64, f64) {
    let b = i64::from(bucket.max(0));
    if b < 16 {
        return (b as f64, (b + 1) as f64);
    }
    let e = (b - 16) / 8 + 4;
    let sub = (b - 16) % 8;
    let width = 2_f64.powi((e - 3) as i32);
    let low = (8 + sub) as f64 * width;
    (low, low + width)
}

/// The `q`-quantile (0–1) of a histogram given as (bucket, samples), interpolated linearly
/// within its bucket; `None` for an empty histogram.
pub fn latency_quantile(histogram: &[(i32, i64)], q: f64) -> Option<f64> {
    let mut buckets: Vec<(i32, i64)> = histogram.iter().copied().filter(|(_, n)| *n > 0).collect();
    buckets.sort_unstable();
    let total: i64 = buckets.iter().map(|(_, n)| n).sum();
    if total == 0 {
        return None;
    }
    let rank = q.clamp(0.0, 1.0) * total as f64;
    let mut seen = 0_i64;
    for (bucket, n) in &buckets {
        if (seen + n) as f64 >= rank {
            let (low, high) = bucket_bounds(*bucket);
            let within = ((rank - seen as f64) / *n as f64).clamp(0.0, 1.0);
            return Some(low + (high - low) * within);
        }
        seen += n;
    }
    buckets.last().map(|(b, _)| bucket_bounds(*b).1)
}
