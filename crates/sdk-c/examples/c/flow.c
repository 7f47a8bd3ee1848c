/*
 * The offline SDK from C: licence -> detect -> features -> gallery search -> liveness,
 * and the error paths an integrator meets. Prints one result per line, for a person and
 * for crates/sdk-c/tests/it/flow.rs, which compares every number with the Rust SDK's.
 *
 *   flow LICENCE_FILE TRUSTED_KEY MODEL_DIR DATA_DIR DEVICE_ID PHOTO_A PHOTO_A2 PHOTO_B
 *        [--leak-on-purpose]
 *
 * PHOTO_A and PHOTO_A2 show one person, PHOTO_B another. The licence must grant detect,
 * features, search and a liveness feature, and not quality (e.g. "ir-liveness-search").
 * Exit status: 0 when every check passed, 1 when one failed, 2 on bad usage.
 * --leak-on-purpose leaks one config on purpose: the leak checker's own test.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "renlian_sdk.h"

static int failures = 0;

/* The last error of this thread, into a static buffer. */
static const char *last_error(void) {
    static char message[1024];
    rl_last_error_message(message, sizeof message);
    return message;
}

/* Reports a failed call and counts it. */
static int check(int32_t rc, const char *what) {
    if (rc != RL_OK) {
        fprintf(stderr, "FAIL %s: %s (%d): %s\n", what, rl_error_name(rc), rc, last_error());
        failures++;
    }
    return rc == RL_OK;
}

static void expect(int ok, const char *what) {
    if (!ok) {
        fprintf(stderr, "FAIL %s\n", what);
        failures++;
    }
}

/* Reads a whole file; NULL on failure. */
static uint8_t *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    uint8_t *data = NULL;
    size_t cap = 0, n = 0;
    for (;;) {
        if (n == cap) {
            cap = cap ? cap * 2 : 65536;
            uint8_t *grown = realloc(data, cap);
            if (!grown) { free(data); fclose(f); return NULL; }
            data = grown;
        }
        size_t got = fread(data + n, 1, cap - n, f);
        n += got;
        if (got == 0) break;
    }
    fclose(f);
    *len = n;
    return data;
}

static const char *base_name(const char *path) {
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* One photo: its file, the largest face and its descriptor. */
typedef struct {
    const char *name;
    uint8_t *bytes;
    size_t len;
    rl_image image;
    rl_face face;
    rl_descriptor descriptor;
} photo;

static void print_face(const char *name, size_t i, const rl_face *f) {
    printf("face %s %zu %lld %lld %lld %lld %.9g", name, i, (long long)f->rect.left,
           (long long)f->rect.top, (long long)f->rect.right, (long long)f->rect.bottom,
           (double)f->confidence);
    for (size_t k = 0; k < RL_LANDMARKS; k++)
        printf(" %lld,%lld", (long long)f->landmarks[k].x, (long long)f->landmarks[k].y);
    printf("\n");
}

static void print_descriptor(const char *name, const rl_descriptor *d) {
    printf("descriptor %s", name);
    for (size_t k = 0; k < RL_DESCRIPTOR_LEN; k++) printf(" %.9g", (double)d->values[k]);
    printf("\n");
}

/* Detects the faces of one photo: first with no room, to learn the count, then with
   room for all of them. Keeps the largest. */
static int detect_photo(const rl_sdk *sdk, photo *p) {
    size_t count = 0;
    if (!check(rl_sdk_detect(sdk, &p->image, NULL, 0, &count), "detect (count)")) return 0;
    rl_face *faces = calloc(count ? count : 1, sizeof *faces);
    size_t again = 0;
    int ok = check(rl_sdk_detect(sdk, &p->image, faces, count, &again), "detect");
    if (ok) {
        expect(again == count, "the count is the same with room for every face");
        printf("faces %s %zu\n", p->name, count);
        for (size_t i = 0; i < count; i++) print_face(p->name, i, &faces[i]);
        if (count == 0) { fprintf(stderr, "FAIL no face in %s\n", p->name); failures++; ok = 0; }
        else p->face = faces[0];
    }
    free(faces);
    return ok;
}

/* Field by field: the struct has padding, which memcmp would compare too. */
static int same_face(const rl_face *a, const rl_face *b) {
    if (a->rect.left != b->rect.left || a->rect.top != b->rect.top ||
        a->rect.right != b->rect.right || a->rect.bottom != b->rect.bottom ||
        a->confidence != b->confidence)
        return 0;
    for (size_t k = 0; k < RL_LANDMARKS; k++)
        if (a->landmarks[k].x != b->landmarks[k].x || a->landmarks[k].y != b->landmarks[k].y)
            return 0;
    return 1;
}

/* The same photo as raw pixels in another layout, with padded rows, must give the same
   face and descriptor as the encoded file. */
static void check_pixel_layouts(const rl_sdk *sdk, const photo *p) {
    uint32_t w = 0, h = 0;
    if (!check(rl_sdk_decode(sdk, p->bytes, p->len, NULL, 0, &w, &h), "decode (size)")) return;
    size_t need = (size_t)w * h * 3;
    uint8_t *rgb = malloc(need);
    if (!rgb || !check(rl_sdk_decode(sdk, p->bytes, p->len, rgb, need, &w, &h), "decode")) {
        free(rgb);
        return;
    }
    const struct { uint32_t format; size_t bpp; const char *name; } layouts[] = {
        {RL_PIXEL_RGB24, 3, "rgb24"}, {RL_PIXEL_BGR24, 3, "bgr24"}, {RL_PIXEL_RGBA32, 4, "rgba32"}};
    for (size_t l = 0; l < sizeof layouts / sizeof layouts[0]; l++) {
        size_t stride = (size_t)w * layouts[l].bpp + 12; /* padded rows */
        uint8_t *buf = calloc(stride * h, 1);
        if (!buf) { failures++; break; }
        for (uint32_t y = 0; y < h; y++)
            for (uint32_t x = 0; x < w; x++) {
                const uint8_t *s = rgb + ((size_t)y * w + x) * 3;
                uint8_t *d = buf + y * stride + x * layouts[l].bpp;
                if (layouts[l].format == RL_PIXEL_BGR24) { d[0] = s[2]; d[1] = s[1]; d[2] = s[0]; }
                else { d[0] = s[0]; d[1] = s[1]; d[2] = s[2]; }
                if (layouts[l].bpp == 4) d[3] = 255;
            }
        rl_image img = {buf, stride * h, w, h, (uint32_t)stride, layouts[l].format};
        rl_face face;
        rl_descriptor d;
        if (check(rl_sdk_extract(sdk, &img, &face, &d), layouts[l].name)) {
            int same = same_face(&face, &p->face) &&
                       memcmp(d.values, p->descriptor.values, sizeof d.values) == 0;
            printf("pixels %s %s %s\n", p->name, layouts[l].name, same ? "same" : "different");
            expect(same, "raw pixels give the encoded file's face and descriptor");
        }
        free(buf);
    }
    free(rgb);
}

/* Leaks one config on purpose, in a frame of its own so no live stack slot points to it. */
static void __attribute__((noinline)) leak_on_purpose(void) {
    rl_config *volatile leaked = NULL;
    rl_config_new((rl_config **)&leaked);
    leaked = NULL;
}

int main(int argc, char **argv) {
    if (argc != 9 && argc != 10) {
        fprintf(stderr,
                "usage: %s LICENCE_FILE TRUSTED_KEY MODEL_DIR DATA_DIR DEVICE_ID PHOTO_A "
                "PHOTO_A2 PHOTO_B [--leak-on-purpose]\n",
                argv[0]);
        return 2;
    }
    printf("version %s\n", rl_version());

    /* 1. Licence: configure, open, read the licence back. */
    rl_config *config = NULL;
    rl_sdk *sdk = NULL;
    if (!check(rl_config_new(&config), "config")) return 1;
    int configured = check(rl_config_set_licence_file(config, argv[1]), "licence file") &&
                     check(rl_config_add_trusted_key(config, argv[2]), "trusted key") &&
                     check(rl_config_set_model_dir(config, argv[3]), "model dir") &&
                     check(rl_config_set_data_dir(config, argv[4]), "data dir") &&
                     check(rl_config_set_device_id(config, argv[5]), "device id");
    int opened = configured && check(rl_sdk_open(config, &sdk), "open");
    rl_config_free(config); /* the SDK keeps what it needs */
    if (!opened) return 1;

    rl_licence_info info;
    if (check(rl_sdk_licence(sdk, &info), "licence"))
        printf("licence %s %s %s features=%u expires=%lld days_left=%d\n", info.id, info.sdk,
               info.kind, info.features, (long long)info.expires, info.days_left);

    /* 2. Detect, 3. features: every photo's largest face and its descriptor. */
    photo photos[3];
    memset(photos, 0, sizeof photos);
    for (int i = 0; i < 3; i++) {
        photo *p = &photos[i];
        p->name = base_name(argv[6 + i]);
        p->bytes = read_file(argv[6 + i], &p->len);
        if (!p->bytes) { fprintf(stderr, "FAIL cannot read %s\n", argv[6 + i]); failures++; continue; }
        p->image = (rl_image){p->bytes, p->len, 0, 0, 0, RL_IMAGE_ENCODED};
        if (detect_photo(sdk, p) &&
            check(rl_sdk_descriptor(sdk, &p->image, &p->face, &p->descriptor), "descriptor"))
            print_descriptor(p->name, &p->descriptor);
    }
    for (int i = 1; i < 3; i++) {
        rl_comparison c;
        if (check(rl_sdk_compare(sdk, &photos[0].descriptor, &photos[i].descriptor, &c), "compare"))
            printf("compare %s %s %.17g %.17g\n", photos[0].name, photos[i].name, c.distance,
                   c.score);
    }
    check_pixel_layouts(sdk, &photos[0]);

    /* 4. Gallery search: enrol A and B, search with A2. The key is the app's secret. */
    uint8_t key[RL_GALLERY_KEY_LEN];
    for (size_t k = 0; k < sizeof key; k++) key[k] = (uint8_t)(7 * k + 1);
    rl_gallery *gallery = NULL;
    if (check(rl_gallery_open(sdk, key, &gallery), "gallery")) {
        uint64_t id_a = 0, id_b = 0;
        if (check(rl_gallery_add(gallery, "person-a", &photos[0].descriptor, photos[0].name, &id_a),
                  "add a") &&
            check(rl_gallery_add(gallery, "person-b", &photos[2].descriptor, photos[2].name, &id_b),
                  "add b"))
            printf("added person-a %llu person-b %llu\n", (unsigned long long)id_a,
                   (unsigned long long)id_b);
        rl_search_hit hits[4];
        size_t found = 0;
        if (check(rl_gallery_search(gallery, &photos[1].descriptor, 4, hits, 4, &found), "search")) {
            for (size_t i = 0; i < found && i < 4; i++)
                printf("hit %s %zu %s %llu %.9g %.17g\n", photos[1].name, i, hits[i].person_id,
                       (unsigned long long)hits[i].face_id, (double)hits[i].distance,
                       hits[i].score);
            expect(found == 2 && hits[0].face_id == id_a, "A2 finds A first");
        }
        rl_gallery_free(gallery);
    }

    /* 5. Liveness (static RGB) of each photo's face. */
    for (int i = 0; i < 3; i++) {
        rl_liveness l;
        if (check(rl_sdk_liveness(sdk, &photos[i].image, &photos[i].face, &l), "liveness"))
            printf("liveness %s %.17g %s\n", photos[i].name, l.score,
                   l.score >= RL_LIVENESS_THRESHOLD ? "live" : "spoof");
    }

    /* The error paths. A feature the licence lacks: code 5, the message names it. */
    rl_quality q;
    int32_t rc = rl_sdk_quality(sdk, &photos[0].image, &photos[0].face, &q);
    printf("refused quality %d %s %s\n", rc, rl_error_name(rc), last_error());
    expect(rc == RL_E_FEATURE_NOT_LICENSED && strstr(last_error(), "quality") != NULL,
           "quality is refused, naming the feature");

    /* Bytes that are no image: code 7. */
    static const uint8_t junk[] = "not an image";
    rl_image bad = {junk, sizeof junk - 1, 0, 0, 0, RL_IMAGE_ENCODED};
    size_t count = 0;
    rc = rl_sdk_detect(sdk, &bad, NULL, 0, &count);
    printf("bad-image %d %s %s\n", rc, rl_error_name(rc), last_error());
    expect(rc == RL_E_IMAGE, "undecodable bytes are an image error");

    /* Pixels that do not fill their stated size: code 7 too. */
    static uint8_t grey[200 * 200];
    memset(grey, 128, sizeof grey);
    rl_image short_image = {grey, sizeof grey - 1, 200, 200, 0, RL_PIXEL_GRAY8};
    rc = rl_sdk_detect(sdk, &short_image, NULL, 0, &count);
    printf("short-pixels %d %s %s\n", rc, rl_error_name(rc), last_error());
    expect(rc == RL_E_IMAGE, "a short pixel buffer is an image error");

    /* A plain grey image has no face: code 8 where one is needed. */
    rl_image blank = {grey, sizeof grey, 200, 200, 0, RL_PIXEL_GRAY8};
    rl_face face;
    rl_descriptor descriptor;
    rc = rl_sdk_extract(sdk, &blank, &face, &descriptor);
    printf("no-face %d %s\n", rc, rl_error_name(rc));
    expect(rc == RL_E_NO_FACE, "a blank image has no face");

    /* A null pointer: code 1, never a crash. */
    rc = rl_sdk_detect(sdk, &photos[0].image, NULL, 0, NULL);
    printf("null-count %d %s %s\n", rc, rl_error_name(rc), last_error());
    expect(rc == RL_E_INVALID_ARGUMENT, "a null count pointer is an invalid argument");

    /* A buffer too small for the message: cut, NUL-terminated, full length returned. */
    char small[8];
    size_t full = rl_last_error_message(small, sizeof small);
    printf("small-message %zu %zu\n", full, strlen(small));
    expect(full > sizeof small && strlen(small) == sizeof small - 1,
           "a short message buffer gets a cut message and the full length");

    /* A face list too small: the first faces and the count needed. */
    rl_face one;
    count = 0;
    rc = rl_sdk_detect(sdk, &photos[0].image, &one, 0, &count);
    printf("small-list %d %zu\n", rc, count);
    expect(rc == RL_OK && count == 1, "a list with no room gets the count needed");

    rl_sdk_free(sdk);
    for (int i = 0; i < 3; i++) free(photos[i].bytes);
    if (argc == 10 && strcmp(argv[9], "--leak-on-purpose") == 0) leak_on_purpose();
    printf("done %d\n", failures);
    return failures ? 1 : 0;
}
