"""MLU chip profiles: memory sizes, core counts and the rates of the cycle model (BANG.md)."""

from __future__ import annotations

from dataclasses import dataclass

KB = 1024
MB = 1024 * KB


@dataclass(frozen=True)
class Profile:
    name: str
    nram_bytes: int            # physical NRAM per core
    nram_usable: int           # NRAM a kernel may allocate (128 KB kept back for the compiler stack)
    wram_bytes: int            # WRAM per core
    sram_bytes: int            # SRAM (__mlu_shared__) per cluster
    clusters: int
    cores_per_cluster: int
    gdram_gbps: float          # chip GDRAM bandwidth, GB/s
    clock_ghz: float
    strict_alignment: bool     # 2xx alignment rules are hard errors
    saturating: bool           # 2xx arithmetic saturates instead of Inf/NaN
    float_conv: bool           # conv/matmul units accept fp16/fp32 inputs
    int8_ops_per_cycle: int    # tensor unit, per core (MAC = 2 ops)
    int16_ops_per_cycle: int
    fp16_ops_per_cycle: int    # tensor unit; 0 = unsupported
    fp32_ops_per_cycle: int
    # --- simulator assumptions (not published; see the README) ---
    vector_bytes_per_cycle: int = 128    # vector unit width
    move_bytes_per_cycle: int = 128      # on-chip Move-DMA (NRAM/WRAM/SRAM <-> each other), per core
    dma_latency_cycles: int = 100        # start-up cost of every DMA instruction
    ldram_bytes: int = 64 * MB           # per-core local DRAM (unqualified local arrays live here)

    @property
    def cores(self) -> int:
        return self.clusters * self.cores_per_cluster

    @property
    def gdram_bytes_per_cycle(self) -> float:
        return self.gdram_gbps / self.clock_ghz


PROFILES: dict[str, Profile] = {
    "mlu270": Profile(
        name="mlu270", nram_bytes=512 * KB, nram_usable=384 * KB, wram_bytes=1 * MB,
        sram_bytes=2 * MB, clusters=4, cores_per_cluster=4, gdram_gbps=102.4, clock_ghz=1.0,
        strict_alignment=True, saturating=True, float_conv=False,
        int8_ops_per_cycle=8192, int16_ops_per_cycle=4096, fp16_ops_per_cycle=0,
        fp32_ops_per_cycle=0),
    # MLU370: 8 clusters x 4 cores assumed (32 x 8192 x 1 GHz = 262 TOPS int8, close to the
    # 256 TOPS published for the MLU370-X4).
    "mlu370": Profile(
        name="mlu370", nram_bytes=768 * KB, nram_usable=640 * KB, wram_bytes=1 * MB,
        sram_bytes=4 * MB, clusters=8, cores_per_cluster=4, gdram_gbps=307.2, clock_ghz=1.0,
        strict_alignment=False, saturating=False, float_conv=True,
        int8_ops_per_cycle=8192, int16_ops_per_cycle=4096, fp16_ops_per_cycle=3072,
        fp32_ops_per_cycle=768),
}


def get_profile(profile) -> Profile:
    from .memory import MLUError

    if isinstance(profile, Profile):
        return profile
    try:
        return PROFILES[str(profile).lower()]
    except KeyError:
        raise MLUError("", "", 0, "unknown profile",
                       f"{profile!r} (known: {', '.join(PROFILES)})") from None
