#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `vidkv`: VidKV's 1.x-bit cache (Tao et al. 2025, "Plug-and-Play 1.x-Bit KV Cache Quantization
/// for Video Large Language Models"; see ../shared/REDUCERS.md, "VidKV").
///
/// Format, per layer, kv head and group of 32 consecutive tokens (the most recent tokens stay in
/// a Float16 residual buffer, 128 by default, and whole groups are quantized as they leave it;
/// see `GroupedStore`):
///
/// Keys, "1.5 bit": the range (max - min over the group's 32 tokens) of every channel is
/// measured; the `headDim/2` channels with the largest ranges (ties: lower channel first) are
/// quantized like KIVI keys, 2-bit asymmetric min-max per channel (Float16 min rounded down,
/// scale rounded up to its 8-bit logarithmic code, see `LogScales`; |x - x̂| <= scale/2). The
/// other m = headDim - headDim/2 channels, taken in channel order as a vector per token, go
/// through a real FFT along the channel axis:
/// the orthonormal real DFT basis (DC, then Re/Im of each frequency 1..<m/2, then Nyquist when m
/// is even, each scaled so the m x m transform is orthonormal: exactly the numbers `rfft` returns,
/// up to those scales). It is applied as an m x m matrix product: m <= 128 here, where a matrix
/// product is as fast as an FFT and far simpler. Each transformed coefficient k is quantized to
/// one bit per token, y ≈ alpha_k * sign(y), alpha_k = mean |y_k| over the group's 32 tokens,
/// stored as an 8-bit logarithmic code (within 2.2%). Both the sign and the scale are kept (the
/// reference code's 1-bit dequantizer drops the sign and its 1.58-bit one the scale).
/// Block layout: channel mask (bit c set: channel c is 2-bit), 2-bit part (Float16 mins[m2],
/// scales as `LogScales` (2 + m2 bytes), codes token-major, 4 per byte), 1-bit part (alphas as
/// `LogScales` (2 + m1 bytes), sign bits token-major, 8 per byte, bit set: y >= 0).
///
/// Attention never inverts the transform per key for few query vectors: the DFT basis is
/// orthonormal, so q · k = q_hi · k_hi + (B q_lo) · (B k_lo); the kernel maps each query once per
/// group (m² flops) and dots it with the stored coefficients. For many query vectors (prefill) the
/// group's 32 keys are inverted instead (32·m² flops, shared by all queries).
///
/// Values, "1.58 bit": per channel over the group's tokens (VidKV's finding: video LLM values
/// have channel outliers too, so per-channel, not per-token, grouping): threshold
/// tau = 0.5 * mean|x|; t = +1 if x > tau, -1 if x < -tau, else 0; x̂ = alpha * t with
/// alpha = mean |x| over the entries with t != 0 (an 8-bit logarithmic code, within 2.2%).
/// Trits are packed 5 per byte (3^5 = 243 <= 256), token-major. Block layout: alphas as
/// `LogScales` (2 + headDim bytes), then the trit bytes.
///
/// Semantic token protection: positions given to `protectTokens` (the ~20% visual tokens most
/// related to the text, chosen by the caller) keep their values at 2 bits per token, KIVI style
/// (`TwoBitRows`: min and scale per 32 channels), stored in a side buffer; their trits are 0
/// and they are left out of the ternary threshold and alpha of their group. Per group and layer
/// the cache keeps a 32-bit protection mask and the index of its first protected row (8 bytes).
///
/// Cost at headDim 64: keys 524 bytes and values 482 bytes per (group, kv head), 3.93 bits per
/// key+value pair against 32 for f16 (0.123), plus the Float16 residual and protected rows.
/// The metadata (a Float16 min, a scale code per 2-bit channel, one alpha code per 1-bit
/// coefficient and per value channel, all per 32 tokens) costs 0.8 of those bits; the paper's
/// 1.5 / 1.58 bits leave it out. With Float16 scales and alphas it cost 1.3 bits, and the cache
/// missed 1/7 of f16 at 8,192 tokens; the 8-bit codes bring it under.
///
/// Why: video LLMs cache thousands of visual tokens; 2-bit KV barely hurts them and VidKV
/// reports almost no loss at K 1.5 / V 1.58 bits (LLaVA-OV-7B, Qwen2.5-VL-7B).
public final class VidKVCache: PackedKVCache {
    let store: GroupedStore<VidKVCodec>

    /// `residual`: recent tokens kept in Float16 (VidKV: 128). `sink`: leading tokens kept in
    /// Float16, 0 or a multiple of 32 (see `GroupedStore`; the published format has none).
    public init(shape: KVCacheShape, residual: Int = 128, sink: Int = 32) {
        store = GroupedStore(shape: shape, codec: VidKVCodec(headDim: shape.headDim), residual: residual, sink: sink)
        super.init(store, typeName: "vidkv")
    }

    /// Marks token positions (the same in every layer) whose values are kept at 2 bits instead
    /// of ternary. Adds to earlier marks. It takes effect when a position's group is quantized,
    /// that is for tokens not yet appended or still in the residual window: call it before the
    /// prefill that appends them (`truncate` keeps the marks; a rewound group is quantized again
    /// with them).
    public func protectTokens(_ positions: Set<Int>) { store.protected.formUnion(positions) }
    /// VidKV protects the 20% of visual tokens most related to the text.
    public var protectedVisualFraction: Double { 0.2 }
    /// Forgets every mark of `protectTokens` (groups already quantized keep their format).
    public func clearProtectedTokens() { store.protected.removeAll() }
    public var protectedTokens: Set<Int> { store.protected }

}
