/* The profile photo: basics.image as a data: URI or a local path (relative to the input
 * file).  Remote URLs are never fetched by the renderer: fetching belongs to the services
 * (which can cache and time out), and a render must not hang on the network.
 *
 * JPEG is embedded as is (cairo writes the original bytes with DCTDecode) unless it is
 * large, in which case it is decoded at a reduced scale; PNG and WebP are decoded and
 * scaled down to at most PHOTO_MAX_PX on the long side. */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <setjmp.h>
#include <stdio.h>
/* jpeglib.h needs size_t and FILE first */
#include <jpeglib.h>
#include <string.h>
#include <webp/decode.h>

#include "render-int.h"
#include "rg/buf.h"
#include "rg/mem.h"

#define PHOTO_MAX_BYTES (8u * 1024 * 1024)
#define PHOTO_MAX_PX 600 /* 600 px over a 64 pt photo is ~ 650 dpi: plenty */
#define PHOTO_MAX_SRC_PX 12000
#define PHOTO_MAX_PIXELS (40u * 1000 * 1000) /* 160 MB decoded: the most we will hold */

struct bytes {
    const unsigned char *p;
    size_t len, off;
};

static cairo_status_t read_mem(void *closure, unsigned char *data, unsigned int len)
{
    struct bytes *b = closure;
    if (b->off + len > b->len)
        return CAIRO_STATUS_READ_ERROR;
    memcpy(data, b->p + b->off, len);
    b->off += len;
    return CAIRO_STATUS_SUCCESS;
}

/* Returns a surface scaled so its long side is at most PHOTO_MAX_PX (src is consumed). */
static cairo_surface_t *downscale(cairo_surface_t *src)
{
    int w = cairo_image_surface_get_width(src), h = cairo_image_surface_get_height(src);
    int m = w > h ? w : h;
    if (m <= PHOTO_MAX_PX)
        return src;
    double s = (double)PHOTO_MAX_PX / m;
    int nw = (int)(w * s + 0.5), nh = (int)(h * s + 0.5);
    cairo_surface_t *dst = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, nw ? nw : 1, nh ? nh : 1);
    cairo_t *cr = cairo_create(dst);
    cairo_scale(cr, s, s);
    cairo_set_source_surface(cr, src, 0, 0);
    cairo_pattern_set_filter(cairo_get_source(cr), CAIRO_FILTER_GOOD);
    cairo_paint(cr);
    cairo_destroy(cr);
    cairo_surface_destroy(src);
    return dst;
}

struct jerr {
    struct jpeg_error_mgr mgr;
    jmp_buf jb;
};

static void jpeg_fail(j_common_ptr cinfo)
{
    longjmp(((struct jerr *)cinfo->err)->jb, 1);
}

/* libjpeg prints warnings ("Premature end of JPEG file") to stderr by default; the
 * renderer reports through diagnostics only. */
static void jpeg_quiet(j_common_ptr cinfo)
{
    (void)cinfo;
}

static void jpeg_quiet_level(j_common_ptr cinfo, int level)
{
    (void)cinfo;
    (void)level;
}

static int load_jpeg(const unsigned char *p, size_t len, cairo_surface_t **ret)
{
    struct jpeg_decompress_struct ci;
    struct jerr je;
    /* volatile: they change between setjmp and a longjmp back to it */
    cairo_surface_t *volatile s = NULL;
    unsigned char *volatile row = NULL;

    ci.err = jpeg_std_error(&je.mgr);
    je.mgr.error_exit = jpeg_fail;
    je.mgr.output_message = jpeg_quiet;
    je.mgr.emit_message = jpeg_quiet_level;
    if (setjmp(je.jb)) {
        jpeg_destroy_decompress(&ci);
        if (s)
            cairo_surface_destroy(s);
        rg_free(row);
        return RG_EIMAGE;
    }
    jpeg_create_decompress(&ci);
    jpeg_mem_src(&ci, p, (unsigned long)len);
    jpeg_read_header(&ci, TRUE);
    if (ci.image_width > PHOTO_MAX_SRC_PX || ci.image_height > PHOTO_MAX_SRC_PX ||
        (uint64_t)ci.image_width * ci.image_height > PHOTO_MAX_PIXELS) {
        jpeg_destroy_decompress(&ci);
        return RG_EIMAGE;
    }
    unsigned m = ci.image_width > ci.image_height ? ci.image_width : ci.image_height;
    /* A truncated file would be embedded as a broken stream: keep the bytes only when
     * they end with the end-of-image marker. */
    int complete = len >= 4 && p[len - 2] == 0xff && p[len - 1] == 0xd9;
    if (m <= 2 * PHOTO_MAX_PX && ci.num_components != 4 && complete) {
        /* Small enough: keep the original bytes; the pixels are never read for PDF. */
        s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, (int)ci.image_width,
                                       (int)ci.image_height);
        unsigned char *copy = rg_malloc(len);
        memcpy(copy, p, len);
        cairo_surface_set_mime_data(s, CAIRO_MIME_TYPE_JPEG, copy, len, free, copy);
        jpeg_destroy_decompress(&ci);
        *ret = s;
        return 0;
    }
    /* Large (or CMYK): decode at 1/2, 1/4 or 1/8 and let cairo re-encode losslessly. */
    ci.scale_num = 1;
    ci.scale_denom = 1;
    while (ci.scale_denom < 8 && m / (ci.scale_denom * 2) >= PHOTO_MAX_PX)
        ci.scale_denom *= 2;
    ci.out_color_space = ci.num_components == 4 ? JCS_CMYK : JCS_RGB;
    jpeg_start_decompress(&ci);
    s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, (int)ci.output_width, (int)ci.output_height);
    row = rg_malloc((size_t)ci.output_width * (size_t)ci.output_components);
    unsigned char *dst = cairo_image_surface_get_data(s);
    int stride = cairo_image_surface_get_stride(s);
    if (je.mgr.num_warnings) {
        /* corrupt data found while starting: treat as broken */
        longjmp(je.jb, 1);
    }
    while (ci.output_scanline < ci.output_height) {
        JSAMPROW rp = (JSAMPROW)row;
        uint32_t *out = (uint32_t *)(dst + (size_t)stride * ci.output_scanline);
        jpeg_read_scanlines(&ci, &rp, 1);
        for (unsigned x = 0; x < ci.output_width; x++) {
            unsigned r, g, b;
            if (ci.output_components == 4) { /* Adobe CMYK JPEGs are stored inverted */
                unsigned k = row[4 * x + 3];
                r = row[4 * x] * k / 255;
                g = row[4 * x + 1] * k / 255;
                b = row[4 * x + 2] * k / 255;
            } else {
                r = row[3 * x];
                g = row[3 * x + 1];
                b = row[3 * x + 2];
            }
            out[x] = 0xff000000u | (r << 16) | (g << 8) | b;
        }
    }
    cairo_surface_mark_dirty(s);
    jpeg_finish_decompress(&ci);
    jpeg_destroy_decompress(&ci);
    rg_free(row);
    if (je.mgr.num_warnings) { /* truncated or corrupt: do not show half a photo */
        cairo_surface_destroy(s);
        return RG_EIMAGE;
    }
    *ret = downscale(s);
    return 0;
}

static int load_webp(const unsigned char *p, size_t len, cairo_surface_t **ret)
{
    int w, h;
    if (!WebPGetInfo(p, len, &w, &h) || w > PHOTO_MAX_SRC_PX || h > PHOTO_MAX_SRC_PX ||
        (uint64_t)w * (uint64_t)h > PHOTO_MAX_PIXELS)
        return RG_EIMAGE;
    cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, w, h);
    int stride = cairo_image_surface_get_stride(s);
    /* Cairo wants premultiplied native-endian ARGB, which is BGRA in memory here. */
    if (!WebPDecodeBGRAInto(p, len, cairo_image_surface_get_data(s), (size_t)stride * (size_t)h,
                            stride)) {
        cairo_surface_destroy(s);
        return RG_EIMAGE;
    }
    uint32_t *px = (uint32_t *)cairo_image_surface_get_data(s);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint32_t *q = (uint32_t *)((unsigned char *)px + (size_t)stride * y) + x;
            uint32_t a = *q >> 24;
            if (a == 255)
                continue;
            uint32_t r = ((*q >> 16) & 0xff) * a / 255, g = ((*q >> 8) & 0xff) * a / 255,
                     b = (*q & 0xff) * a / 255;
            *q = (a << 24) | (r << 16) | (g << 8) | b;
        }
    cairo_surface_mark_dirty(s);
    *ret = downscale(s);
    return 0;
}

static int decode(const unsigned char *p, size_t len, cairo_surface_t **ret)
{
    if (len >= 8 && !memcmp(p, "\x89PNG\r\n\x1a\n", 8)) {
        struct bytes b = {p, len, 0};
        /* Size from the IHDR chunk before decoding: a small file can claim a huge image. */
        if (len < 24 || memcmp(p + 12, "IHDR", 4))
            return RG_EIMAGE;
        uint32_t w = (uint32_t)p[16] << 24 | (uint32_t)p[17] << 16 | (uint32_t)p[18] << 8 | p[19];
        uint32_t h = (uint32_t)p[20] << 24 | (uint32_t)p[21] << 16 | (uint32_t)p[22] << 8 | p[23];
        if (w == 0 || h == 0 || w > PHOTO_MAX_SRC_PX || h > PHOTO_MAX_SRC_PX ||
            (uint64_t)w * h > (uint64_t)PHOTO_MAX_PIXELS)
            return RG_EIMAGE;
        cairo_surface_t *s = cairo_image_surface_create_from_png_stream(read_mem, &b);
        if (cairo_surface_status(s) != CAIRO_STATUS_SUCCESS) {
            cairo_surface_destroy(s);
            return RG_EIMAGE;
        }
        *ret = downscale(s);
        return 0;
    }
    if (len >= 3 && p[0] == 0xff && p[1] == 0xd8 && p[2] == 0xff)
        return load_jpeg(p, len, ret);
    if (len >= 12 && !memcmp(p, "RIFF", 4) && !memcmp(p + 8, "WEBP", 4))
        return load_webp(p, len, ret);
    return RG_EIMAGE;
}

/* Reads a regular file only: a FIFO would block, a device never ends. */
static int read_regular(struct rg_buf *b, const char *path)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0)
        return -errno;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return -EINVAL;
    }
    if ((uint64_t)st.st_size > b->max) {
        close(fd);
        return RG_ETOOBIG;
    }
    char chunk[65536];
    int r = 0;
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            r = n < 0 ? -errno : 0;
            break;
        }
        if ((r = rg_buf_append(b, chunk, (size_t)n)) < 0)
            break;
    }
    close(fd);
    if (r == 0 && !b->ptr)
        r = rg_buf_append(b, "", 0);
    return r;
}

int render_image_load(const char *src, const char *base_dir, cairo_surface_t **ret,
                      struct rg_diags *diags)
{
    unsigned char *data = NULL;
    size_t len = 0;
    int r;

    if (!strncmp(src, "http://", 7) || !strncmp(src, "https://", 8) || !strncmp(src, "//", 2)) {
        rg_diags_add(diags, RG_DIAG_WARN, "/basics/image",
                     "remote images are not fetched by the renderer; the photo is left out "
                     "(upload it or use a data: URI)");
        return -EPERM;
    }
    if (!strncmp(src, "data:", 5)) {
        const char *comma = strchr(src, ',');
        if (!comma || !strstr(src, ";base64")) {
            rg_diags_add(diags, RG_DIAG_WARN, "/basics/image",
                         "only base64 data: URIs are supported; the photo is left out");
            return -EINVAL;
        }
        gsize n = 0;
        data = g_base64_decode(comma + 1, &n);
        len = n;
    } else {
        struct rg_buf b;
        char *path;
        if (!base_dir) {
            rg_diags_add(diags, RG_DIAG_WARN, "/basics/image",
                         "\"%s\": local image paths are only read when rendering a file; "
                         "the photo is left out",
                         src);
            return -EPERM;
        }
        if (!strncmp(src, "file://", 7))
            src += 7;
        path = src[0] == '/' ? rg_strdup(src) : rg_asprintf("%s/%s", base_dir, src);
        rg_buf_init(&b, PHOTO_MAX_BYTES);
        r = read_regular(&b, path);
        rg_free(path);
        if (r < 0) {
            rg_diags_add(diags, RG_DIAG_WARN, "/basics/image", "\"%s\": %s; the photo is left out",
                         src,
                         r == RG_ETOOBIG ? "larger than 8 MiB"
                         : r == -EINVAL  ? "not a regular file"
                                         : rg_strerror(r));
            rg_buf_done(&b);
            return r;
        }
        data = (unsigned char *)rg_buf_take(&b, &len);
        unsigned char *g = g_malloc(len ? len : 1);
        memcpy(g, data, len);
        rg_free(data);
        data = g;
    }
    r = decode(data, len, ret);
    if (r < 0)
        rg_diags_add(diags, RG_DIAG_WARN, "/basics/image",
                     "the image is not a PNG, JPEG or WebP that can be read whole (or it is "
                     "larger than 12000 px a side); the photo is left out");
    g_free(data);
    return r;
}
