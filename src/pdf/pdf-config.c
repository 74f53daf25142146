/* rg-pdf configuration: defaults < file < RG_PDF_<KEY> < --set. */
#include <stdlib.h>
#include <string.h>

#include "pdf.h"
#include "rg/mem.h"

const struct rg_cfg_opt pdf_cfg_opts[] = {
    RG_CFG_STR("listen_addr", struct pdf_config, listen_addr, "127.0.0.1", 0,
               "address of /metrics and /healthz"),
    RG_CFG_INT("port", struct pdf_config, port, "8085", 1, 65535, 0, "port of /metrics and /healthz"),
    RG_CFG_INT("slots", struct pdf_config, slots, "2", 1, PDF_MAX_SLOTS, 0,
               "render processes (each with its own renderer and prefetch 1)"),
    RG_CFG_STR("amqp_url", struct pdf_config, amqp_url, NULL, RG_CFG_SECRET,
               "RabbitMQ URL (RG_AMQP_URL when not set)"),
    RG_CFG_STR("storage", struct pdf_config, storage, NULL, 0,
               "fs:///path or s3://bucket?endpoint=...&region=... (RG_STORAGE when not set)"),
    RG_CFG_STR("data_dir", struct pdf_config, data_dir, NULL, 0,
               "themes/locales/schema (RG_DATA_DIR when not set, else the build-time data/)"),
    RG_CFG_SIZE("max_pdf", struct pdf_config, max_pdf, "32MiB", 4096, (int64_t)1 << 32, 0,
                "largest PDF produced; a bigger one fails the task"),
    RG_CFG_MS("amqp_timeout", struct pdf_config, amqp_timeout, "5s", 100, 600000, 0,
              "connect/handshake/RPC and publisher-confirm timeout"),
    RG_CFG_MS("heartbeat", struct pdf_config, heartbeat, "30s", 0, 600000, 0,
              "AMQP heartbeat of the consuming connection (0 = off)"),
    RG_CFG_MS("stop_grace", struct pdf_config, stop_grace, "60s", 0, 3600000, 0,
              "SIGTERM: how long in-flight renders may take before they are killed (and redelivered)"),
    RG_CFG_STR("log_level", struct pdf_config, log_level, "info", 0, "debug, info, warn, error"),
    RG_CFG_END,
};

static int fallback(char **field, const char *env)
{
    if (*field && **field)
        return 1;
    const char *v = getenv(env);
    if (!v || !*v)
        return 0;
    rg_free(*field);
    *field = rg_strdup(v);
    return 1;
}

int pdf_config_load(struct pdf_config *cfg, const char *path, const char *const *sets, size_t nsets,
                    struct rg_errinfo *ei)
{
    int r = rg_cfg_load(pdf_cfg_opts, cfg, path, "RG_PDF_", sets, nsets, ei);
    if (r < 0)
        return r;
    if (!fallback(&cfg->amqp_url, "RG_AMQP_URL"))
        return rg_errinfo_set(ei, RG_ECONFIG, "amqp_url is required (or RG_AMQP_URL)");
    if (!fallback(&cfg->storage, "RG_STORAGE"))
        return rg_errinfo_set(ei, RG_ECONFIG, "storage is required (or RG_STORAGE)");
    (void)fallback(&cfg->data_dir, "RG_DATA_DIR");
    return 0;
}

void pdf_config_done(struct pdf_config *cfg)
{
    rg_cfg_done(pdf_cfg_opts, cfg);
}
