/* gnuplot.c - see gnuplot.h. */
#include "gnuplot.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

const char *tools_png_terminal(const char *gnuplot)
{
    if (!gnuplot[0] || strchr(gnuplot, '\'')) return NULL;
    static const char *const terms[] = {"pngcairo", "png"};
    for (int i = 0; i < 2; i++) {
        char cmd[DQ_CONFIG_STR_MAX + 64];
        snprintf(cmd, sizeof cmd, "'%s' -e 'set terminal %s' >/dev/null 2>&1", gnuplot, terms[i]);
        if (system(cmd) == 0) return terms[i];
    }
    return NULL;
}
