/* env.c - helpers shared by every environment implementation. */
#include "env.h"

#include <stddef.h>

void dq_env_close(dq_env_t *env)
{
    if (env->ops && env->self) env->ops->destroy(env->self);
    env->self = NULL;
    env->ops = NULL;
}
