/* err.c - strings for the error codes of err.h. */
#include "err.h"

const char *dq_strerror(int err)
{
    switch (err) {
    case DQ_OK: return "success";
#define DQ_ERR_STR_(name, num, str) \
    case DQ_E##name: return str;
        DQ_ERRNO_MAP(DQ_ERR_STR_)
#undef DQ_ERR_STR_
    default: return "unknown error";
    }
}

const char *dq_errname(int err)
{
    switch (err) {
    case DQ_OK: return "OK";
#define DQ_ERR_NAME_(name, num, str) \
    case DQ_E##name: return #name;
        DQ_ERRNO_MAP(DQ_ERR_NAME_)
#undef DQ_ERR_NAME_
    default: return "UNKNOWN";
    }
}
