// FFmpeg's demuxing, decoding and scaling libraries (Debian: libavformat-dev libavcodec-dev
// libswscale-dev libavutil-dev).
#include <libavformat/avformat.h>
#include <libavcodec/avcodec.h>
#include <libswscale/swscale.h>
#include <libavutil/avutil.h>
#include <libavutil/imgutils.h>
#include <libavutil/display.h>
#include <libavutil/error.h>

/// AVERROR(EAGAIN) and AVERROR_EOF are macros Swift cannot import; expose them as functions.
static inline int vlm_averror_eagain(void) { return AVERROR(EAGAIN); }
static inline int vlm_averror_eof(void) { return AVERROR_EOF; }
