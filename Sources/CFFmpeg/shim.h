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

/// The stream's display matrix (9 int32 values), or NULL. FFmpeg 6.1 (lavc 60.30.100) moved
/// stream side data to AVCodecParameters.coded_side_data and deprecated av_stream_get_side_data,
/// which later releases remove; the version check picks whichever API the headers have.
static inline const int32_t *vlm_stream_display_matrix(const AVStream *stream) {
#if LIBAVCODEC_VERSION_INT >= AV_VERSION_INT(60, 30, 100)
    const AVPacketSideData *sd = av_packet_side_data_get(stream->codecpar->coded_side_data,
                                                         stream->codecpar->nb_coded_side_data,
                                                         AV_PKT_DATA_DISPLAYMATRIX);
    return sd && sd->size >= 9 * sizeof(int32_t) ? (const int32_t *)sd->data : NULL;
#else
    size_t size = 0;
    const uint8_t *data = av_stream_get_side_data(stream, AV_PKT_DATA_DISPLAYMATRIX, &size);
    return data && size >= 9 * sizeof(int32_t) ? (const int32_t *)data : NULL;
#endif
}
