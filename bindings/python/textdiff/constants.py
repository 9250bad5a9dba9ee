"""constants.py -- the enumerations of include/libtextdiff.h as Python IntEnums.

The numbers are the header's (never renumbered there, so never here). Names drop the
C prefix: TDIFF_SAMPLER_STEPS is SamplerParam.STEPS.
"""
import enum


class Isa(enum.IntEnum):
    AUTO = 0
    SCALAR = 1
    AVX2 = 2
    AVX512 = 3
    NEON = 4


class ModelParam(enum.IntEnum):
    N_VOCAB = 1
    N_CTX = 2
    N_EMBD = 3
    N_LAYER = 4
    N_FF = 5
    N_HEAD = 6
    N_HEAD_KV = 7
    HEAD_DIM = 8
    ROPE_DIM = 9
    SHIFT_LOGITS = 20
    ROPE_STYLE = 21
    HAS_QKV_BIAS = 22
    TIED_OUTPUT = 23
    CAUSAL = 24
    GGUF_VERSION = 40
    N_TENSORS = 41
    N_META = 42
    ALIGNMENT = 43
    FILE_SIZE = 44
    ROPE_BASE = 60
    NORM_EPS = 61


# Parameters read with tdiff_model_get_float; the rest are integers.
MODEL_FLOAT_PARAMS = frozenset({ModelParam.ROPE_BASE, ModelParam.NORM_EPS})


class Special(enum.IntEnum):
    BOS = 1
    EOS = 2
    MASK = 3
    PAD = 4
    UNK = 5
    SEP = 6
    CLS = 7


class MetaType(enum.IntEnum):
    """GGUF metadata value types (GGUF's own numbers)."""
    U8 = 0
    I8 = 1
    U16 = 2
    I16 = 3
    U32 = 4
    I32 = 5
    F32 = 6
    BOOL = 7
    STRING = 8
    ARRAY = 9
    U64 = 10
    I64 = 11
    F64 = 12


class TokenizerKind(enum.IntEnum):
    BPE = 1
    WORDPIECE = 2
    SPM = 3


TOKENIZE_ADD_SPECIAL = 1
TOKENIZE_PARSE_SPECIAL = 2
CHAT_ADD_ASSISTANT = 1
DETOKENIZE_RENDER_SPECIAL = 1


class Attention(enum.IntEnum):
    FULL = 1
    CAUSAL = 2
    BLOCK_CAUSAL = 3
    SPANS = 4


class DenoiserParam(enum.IntEnum):
    ATTENTION = 1
    BLOCK_LENGTH = 2
    BLOCK_START = 3
    N_VOCAB = 100
    N_EMBD = 101
    MAX_LEN = 102
    N_THREADS = 103
    TIME_CONDITIONED = 104
    SHIFT_LOGITS = 105


class SoftMaskParam(enum.IntEnum):
    TOP_K = 1
    RAW_S = 2
    RAW_C = 3
    RAW_A = 4
    S = 100
    C = 101
    A = 102
    FROM_MODEL = 103


SOFTMASK_INT_PARAMS = frozenset({SoftMaskParam.TOP_K, SoftMaskParam.FROM_MODEL})


class ScheduleKind(enum.IntEnum):
    LINEAR = 1
    COSINE = 2
    MASKGIT_COSINE = 3
    LOGLINEAR = 4
    GEOMETRIC = 5
    SQRT = 6
    SPINDLE = 7


class SchedulerParam(enum.IntEnum):
    EPS = 1
    SIGMA_MIN = 2
    SIGMA_MAX = 3
    SPINDLE_LAMBDA = 4
    MAX_BETA = 5
    COSINE_S = 6
    SQRT_S = 7


class Quantity(enum.IntEnum):
    ALPHA_BAR = 1
    SIGMA_BAR = 2
    SIGMA_RATE = 3
    ALPHA_BAR_RATE = 4
    ELBO_WEIGHT = 5
    BETA = 6


class NelboMethod(enum.IntEnum):
    ANTITHETIC = 1
    STRATIFIED = 2
    QUADRATURE = 3


class TransitionKind(enum.IntEnum):
    UNIFORM = 1
    ABSORBING = 2
    GAUSSIAN = 3
    DENSE = 4
    BANDED = 5


class Strategy(enum.IntEnum):
    LLADA = 1
    DREAM = 2
    THRESHOLD = 3
    FACTOR = 4
    MASKGIT = 5
    MASK_PREDICT = 6
    MDLM = 7
    MDLM_CACHE = 8
    D3PM = 9
    FIRST_HITTING = 10
    SEDD_EULER = 11
    SEDD_ANALYTIC = 12
    EMBEDDING = 13
    AR = 14
    BD3 = 15
    BD3_FIRST_HITTING = 16
    SPINDLE = 17
    PLANNED = 18


class Remasking(enum.IntEnum):
    LOW_CONFIDENCE = 1
    RANDOM = 2
    TOPK_MARGIN = 3
    ENTROPY = 4
    ORIGIN = 5


class Compat(enum.IntEnum):
    NONE = 0
    LLAMACPP = 1


class CacheMode(enum.IntEnum):
    NONE = 0
    PREFIX = 1
    DUAL = 2
    DELAYED = 3


class SamplerParam(enum.IntEnum):
    STRATEGY = 1
    REMASKING = 2
    COMPAT = 3
    STEPS = 10
    GEN_LENGTH = 11
    BLOCK_LENGTH = 12
    TOP_K = 13
    SEED = 14
    EOS_CONFIDENCE_INF = 15
    CUT_AT_EOS = 16
    KEEP_HISTORY = 17
    N_THREADS = 18
    CLAMP = 19
    GAUSS_SCHEDULE = 20
    DDIM = 21
    SUBS = 22
    CACHE = 23
    CACHE_REFRESH = 24
    EARLY_STOP = 25
    TEMPERATURE = 30
    TOP_P = 31
    CFG_SCALE = 32
    THRESHOLD = 33
    FACTOR = 34
    ALG_TEMP = 35
    EPS = 36
    PLANNED_STEPS_PER_TOKEN = 40
    PLANNED_MAX_SPANS = 41
    PLANNED_MAX_SPAN_LENGTH = 42
    PLANNED_DEFAULT_SPAN_LENGTH = 43
    PLANNED_LENGTH_SCALE = 44
    STAT_FORWARD_PASSES = 100
    STAT_STEPS = 101
    STAT_FORWARD_SECONDS = 102
    STAT_TOTAL_SECONDS = 103
    STAT_REUSED = 104
    STAT_ROWS_COMPUTED = 105
    STAT_CACHE_HITS = 106


class GenState(enum.IntEnum):
    """State of an incremental generation (tdiff_sampler_progress)."""
    IDLE = 0
    RUNNING = 1
    DONE = 2


# Real-valued sampler parameters (set_float/get_float); every other one is an integer.
SAMPLER_FLOAT_PARAMS = frozenset({SamplerParam.TEMPERATURE, SamplerParam.TOP_P, SamplerParam.CFG_SCALE,
                                  SamplerParam.THRESHOLD, SamplerParam.FACTOR, SamplerParam.ALG_TEMP,
                                  SamplerParam.EPS, SamplerParam.PLANNED_STEPS_PER_TOKEN,
                                  SamplerParam.PLANNED_LENGTH_SCALE, SamplerParam.STAT_FORWARD_SECONDS,
                                  SamplerParam.STAT_TOTAL_SECONDS})
SAMPLER_STATS = (SamplerParam.STAT_FORWARD_PASSES, SamplerParam.STAT_STEPS, SamplerParam.STAT_FORWARD_SECONDS,
                 SamplerParam.STAT_TOTAL_SECONDS, SamplerParam.STAT_REUSED, SamplerParam.STAT_ROWS_COMPUTED,
                 SamplerParam.STAT_CACHE_HITS)
