/* SPDX-License-Identifier: MIT */
/*
 * Conditions: a small JSON expression language evaluated in three values
 * (man/migstream-schema.5, CONDITIONS).  An expression is a literal (an
 * integer, a boolean, a string) or an object with exactly one operator key:
 *
 *   terms      {"field": PATH [, "default": V]}  {"prop": NAME [, "default": V]}
 *              {"machine_prop": NAME [, "default": V]}  {"cap": NAME}
 *              {"var": "version"|"machine"|"machine_version"|"section"|
 *                      "instance"}  {"unknown": WHY}
 *   logic      {"not": E}  {"and": [E...]}  {"or": [E...]}
 *              {"if": [C, A, B]}
 *   compare    {"eq"|"ne"|"lt"|"le"|"gt"|"ge": [A, B]}
 *              {"in": [A, [LITERAL...]]}  {"match": [A, GLOB]}
 *   arithmetic {"min"|"max"|"add"|"mul": [A...]}  {"sub"|"div"|"band": [A, B]}
 *
 * Logic is Kleene's: false and unknown is false, true or unknown is true;
 * anything else that touches an unknown is unknown.
 */
#include <fnmatch.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cond.h"

enum op {
	OP_INT,
	OP_STR,
	OP_UNKNOWN,
	OP_FIELD,
	OP_PROP,
	OP_MPROP,
	OP_CAP,
	OP_VAR,
	OP_NOT,
	OP_AND,
	OP_OR,
	OP_IF,
	OP_EQ,
	OP_NE,
	OP_LT,
	OP_LE,
	OP_GT,
	OP_GE,
	OP_IN,
	OP_MATCH,
	OP_MIN,
	OP_MAX,
	OP_ADD,
	OP_MUL,
	OP_SUB,
	OP_DIV,
	OP_BAND,
};

enum var {
	VAR_VERSION,
	VAR_MACHINE,
	VAR_MACHINE_VERSION,
	VAR_SECTION,
	VAR_INSTANCE,
};

struct mig_cond {
	enum op op;
	int64_t i;
	bool is_bool;		/* OP_INT written as true/false */
	char *s;		/* string, path, name, why */
	enum var var;
	struct mig_cond *deflt;	/* field/prop default */
	struct mig_cond **args;
	size_t nargs;
};

/* Operator table: name, op, arity (-1: list of at least one, -2: two or
 * more) and what the argument is. */
enum argkind {
	ARG_NAME,		/* a string */
	ARG_EXPR,		/* one expression */
	ARG_LIST,		/* an array of expressions */
	ARG_IN,			/* [expr, [literals]] */
	ARG_MATCH,		/* [expr, "glob"] */
};

static const struct {
	const char *name;
	enum op op;
	enum argkind kind;
	int n;			/* list length: exact, or -1 for >= 1 */
} ops[] = {
	{ "field", OP_FIELD, ARG_NAME, 0 },
	{ "prop", OP_PROP, ARG_NAME, 0 },
	{ "machine_prop", OP_MPROP, ARG_NAME, 0 },
	{ "cap", OP_CAP, ARG_NAME, 0 },
	{ "var", OP_VAR, ARG_NAME, 0 },
	{ "unknown", OP_UNKNOWN, ARG_NAME, 0 },
	{ "not", OP_NOT, ARG_EXPR, 0 },
	{ "and", OP_AND, ARG_LIST, -1 },
	{ "or", OP_OR, ARG_LIST, -1 },
	{ "if", OP_IF, ARG_LIST, 3 },
	{ "eq", OP_EQ, ARG_LIST, 2 },
	{ "ne", OP_NE, ARG_LIST, 2 },
	{ "lt", OP_LT, ARG_LIST, 2 },
	{ "le", OP_LE, ARG_LIST, 2 },
	{ "gt", OP_GT, ARG_LIST, 2 },
	{ "ge", OP_GE, ARG_LIST, 2 },
	{ "in", OP_IN, ARG_IN, 2 },
	{ "match", OP_MATCH, ARG_MATCH, 2 },
	{ "min", OP_MIN, ARG_LIST, -1 },
	{ "max", OP_MAX, ARG_LIST, -1 },
	{ "add", OP_ADD, ARG_LIST, -1 },
	{ "mul", OP_MUL, ARG_LIST, -1 },
	{ "sub", OP_SUB, ARG_LIST, 2 },
	{ "div", OP_DIV, ARG_LIST, 2 },
	{ "band", OP_BAND, ARG_LIST, 2 },
};

#define NOPS (sizeof(ops) / sizeof(ops[0]))

static const char *const var_names[] = {
	[VAR_VERSION] = "version",
	[VAR_MACHINE] = "machine",
	[VAR_MACHINE_VERSION] = "machine_version",
	[VAR_SECTION] = "section",
	[VAR_INSTANCE] = "instance",
};

static const char *op_name(enum op op)
{
	for (size_t i = 0; i < NOPS; i++)
		if (ops[i].op == op)
			return ops[i].name;
	return "?";
}

void mig_cond_free(struct mig_cond *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->nargs; i++)
		mig_cond_free(c->args[i]);
	free(c->args);
	mig_cond_free(c->deflt);
	free(c->s);
	free(c);
}

int cond_pos_error(struct mig_error *err, const char *file, struct jp_pos pos,
		   const char *fmt, ...)
{
	char msg[MIG_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* The place is in the message (file:line:column): no stream offset. */
	(void)pos.off;
	return mig_error_set(err, MIG_EINVAL, MIG_NO_OFFSET,
			     "%s:%" PRIu32 ":%" PRIu32 ": %s",
			     file ? file : "<schema>", pos.line, pos.col, msg);
}

struct mig_cond *cond_new_int(int64_t v)
{
	struct mig_cond *c = calloc(1, sizeof(*c));

	if (c) {
		c->op = OP_INT;
		c->i = v;
	}
	return c;
}

bool mig_cond_const_int(const struct mig_cond *c, int64_t *v)
{
	if (!c || c->op != OP_INT)
		return false;
	*v = c->i;
	return true;
}

static int nomem(struct mig_error *err)
{
	return mig_error_set(err, MIG_ENOMEM, MIG_NO_OFFSET, "out of memory");
}

static int compile(const struct jp_value *v, const char *file,
		   struct mig_cond **out, struct mig_error *err, int depth);

static int compile_list(const struct jp_value *v, const char *file,
			struct mig_cond *c, struct mig_error *err, int depth)
{
	c->args = calloc(v->n ? v->n : 1, sizeof(*c->args));
	if (!c->args)
		return nomem(err);
	for (size_t i = 0; i < v->n; i++) {
		int ret = compile(v->items[i], file, &c->args[i], err, depth + 1);

		c->nargs++;	/* also on failure: freed with @c */
		if (ret)
			return ret;
	}
	return 0;
}

static bool is_literal(const struct jp_value *v)
{
	return v->type == JP_INT || v->type == JP_BOOL || v->type == JP_STRING;
}

static int compile(const struct jp_value *v, const char *file,
		   struct mig_cond **out, struct mig_error *err, int depth)
{
	struct mig_cond *c;
	const struct jp_value *arg;
	const char *key;
	size_t k;
	int ret = 0;

	*out = NULL;
	if (depth > 64)
		return cond_pos_error(err, file, v->pos,
				      "expression nested deeper than 64 levels");
	c = calloc(1, sizeof(*c));
	if (!c)
		return nomem(err);
	*out = c;
	switch (v->type) {
	case JP_INT:
		c->op = OP_INT;
		c->i = v->i;
		return 0;
	case JP_BOOL:
		c->op = OP_INT;
		c->i = v->b;
		c->is_bool = true;
		return 0;
	case JP_STRING:
		c->op = OP_STR;
		if (!(c->s = strdup(v->s)))
			return nomem(err);
		return 0;
	case JP_OBJECT:
		break;
	default:
		return cond_pos_error(err, file, v->pos,
				      "an expression is an integer, a boolean, a string or an object with one operator, not %s",
				      jp_type_name(v->type));
	}
	/* One operator key, plus "default" for the terms that take one. */
	key = NULL;
	arg = NULL;
	for (size_t i = 0; i < v->n; i++) {
		if (!strcmp(v->keys[i], "default"))
			continue;
		if (key)
			return cond_pos_error(err, file, v->kpos[i],
					      "expression has a second operator '%s' (after '%s')",
					      v->keys[i], key);
		key = v->keys[i];
		arg = v->items[i];
	}
	if (!key)
		return cond_pos_error(err, file, v->pos,
				      "expression object without an operator");
	for (k = 0; k < NOPS; k++)
		if (!strcmp(ops[k].name, key))
			break;
	if (k == NOPS)
		return cond_pos_error(err, file, jp_key_pos(v, key),
				      "unknown operator '%s'", key);
	c->op = ops[k].op;
	if (jp_get(v, "default") && c->op != OP_FIELD && c->op != OP_PROP &&
	    c->op != OP_MPROP)
		return cond_pos_error(err, file, jp_key_pos(v, "default"),
				      "'default' is only for field, prop and machine_prop");
	switch (ops[k].kind) {
	case ARG_NAME:
		if (arg->type != JP_STRING || (!arg->slen && c->op != OP_UNKNOWN))
			return cond_pos_error(err, file, arg->pos,
					      "'%s' takes a non-empty string", key);
		if (!(c->s = strdup(arg->s)))
			return nomem(err);
		if (c->op == OP_VAR) {
			size_t n;

			for (n = 0; n < sizeof(var_names) / sizeof(var_names[0]); n++)
				if (!strcmp(var_names[n], arg->s))
					break;
			if (n == sizeof(var_names) / sizeof(var_names[0]))
				return cond_pos_error(err, file, arg->pos,
						      "unknown variable '%s' (version, machine, machine_version, section, instance)",
						      arg->s);
			c->var = (enum var)n;
		}
		if (jp_get(v, "default")) {
			const struct jp_value *d = jp_get(v, "default");

			if (!is_literal(d))
				return cond_pos_error(err, file, d->pos,
						      "'default' takes a literal");
			ret = compile(d, file, &c->deflt, err, depth + 1);
		}
		return ret;
	case ARG_EXPR:
		c->args = calloc(1, sizeof(*c->args));
		if (!c->args)
			return nomem(err);
		c->nargs = 1;
		return compile(arg, file, &c->args[0], err, depth + 1);
	case ARG_LIST:
		if (arg->type != JP_ARRAY)
			return cond_pos_error(err, file, arg->pos,
					      "'%s' takes an array of expressions", key);
		if (ops[k].n > 0 && arg->n != (size_t)ops[k].n)
			return cond_pos_error(err, file, arg->pos,
					      "'%s' takes %d operands, not %zu", key,
					      ops[k].n, arg->n);
		if (ops[k].n < 0 && !arg->n)
			return cond_pos_error(err, file, arg->pos,
					      "'%s' takes at least one operand", key);
		return compile_list(arg, file, c, err, depth);
	case ARG_IN:
	case ARG_MATCH:
		if (arg->type != JP_ARRAY || arg->n != 2)
			return cond_pos_error(err, file, arg->pos,
					      "'%s' takes [expression, %s]", key,
					      ops[k].kind == ARG_IN ? "[literals]" : "\"glob\"");
		if (ops[k].kind == ARG_MATCH && arg->items[1]->type != JP_STRING)
			return cond_pos_error(err, file, arg->items[1]->pos,
					      "'match' takes a glob string");
		if (ops[k].kind == ARG_IN) {
			const struct jp_value *l = arg->items[1];

			if (l->type != JP_ARRAY)
				return cond_pos_error(err, file, l->pos,
						      "'in' takes an array of literals");
			for (size_t i = 0; i < l->n; i++)
				if (!is_literal(l->items[i]))
					return cond_pos_error(err, file,
							      l->items[i]->pos,
							      "'in' takes an array of literals");
			c->args = calloc(1 + l->n, sizeof(*c->args));
			if (!c->args)
				return nomem(err);
			ret = compile(arg->items[0], file, &c->args[0], err,
				      depth + 1);
			c->nargs = 1;
			for (size_t i = 0; !ret && i < l->n; i++) {
				ret = compile(l->items[i], file, &c->args[1 + i],
					      err, depth + 1);
				c->nargs++;
			}
			return ret;
		}
		return compile_list(arg, file, c, err, depth);
	}
	return 0;
}

int cond_compile(const struct jp_value *v, const char *file,
		 struct mig_cond **out, struct mig_error *err)
{
	int ret = compile(v, file, out, err, 0);

	if (ret) {
		mig_cond_free(*out);
		*out = NULL;
	}
	return ret;
}

int mig_cond_parse(const char *text, size_t len, const char *name,
		   struct mig_cond **out, struct mig_error *err)
{
	struct jp_value *v = NULL;
	struct jp_error je;
	int ret;

	*out = NULL;
	ret = jp_parse(text, len, &v, &je);
	if (ret == -2)
		return nomem(err);
	if (ret)
		return cond_pos_error(err, name, je.pos, "bad JSON: %s", je.msg);
	ret = cond_compile(v, name, out, err);
	jp_free(v);
	return ret;
}

int mig_cond_from_json(const json_t *j, struct mig_cond **out,
		       struct mig_error *err)
{
	char *text = json_dumps(j, JSON_ENCODE_ANY | JSON_COMPACT);
	int ret;

	*out = NULL;
	if (!text)
		return nomem(err);
	ret = mig_cond_parse(text, strlen(text), "<expression>", out, err);
	free(text);
	return ret;
}

bool mig_cond_is_unknown(const struct mig_cond *c)
{
	return c && c->op == OP_UNKNOWN;
}

/* ------------------------------------------------------------------ */
/* Evaluation                                                          */

static void set_unknown(struct mig_val *v, const char *why)
{
	v->kind = MIG_V_UNKNOWN;
	v->i = 0;
	v->s = NULL;
	v->why = why;
}

static void set_int(struct mig_val *v, int64_t i)
{
	v->kind = MIG_V_INT;
	v->i = i;
	v->s = NULL;
	v->why = NULL;
}

/* "pc-q35-5.2" -> 502; false when the name carries no X.Y. */
static bool machine_version(const char *m, int64_t *out)
{
	const char *dash = m ? strrchr(m, '-') : NULL;
	unsigned long major, minor;
	char *end;

	if (!dash)
		return false;
	major = strtoul(dash + 1, &end, 10);
	if (end == dash + 1 || *end != '.')
		return false;
	minor = strtoul(end + 1, &end, 10);
	if (*end || major > 1000 || minor > 99)
		return false;
	*out = (int64_t)(major * 100 + minor);
	return true;
}

static void eval(const struct mig_cond *c, const struct mig_cond_env *env,
		 struct mig_val *out);

/* A value as a truth value. */
static enum mig_tv truth(const struct mig_val *v)
{
	if (v->kind == MIG_V_INT)
		return v->i ? MIG_TV_TRUE : MIG_TV_FALSE;
	return MIG_TV_UNKNOWN;
}

static void eval_term(const struct mig_cond *c, const struct mig_cond_env *env,
		      struct mig_val *out)
{
	bool (*fn)(void *, const char *, struct mig_val *) = NULL;
	bool known;

	switch (c->op) {
	case OP_FIELD:
		fn = env ? env->field : NULL;
		break;
	case OP_PROP:
		fn = env ? env->prop : NULL;
		break;
	case OP_MPROP:
		fn = env ? env->machine_prop : NULL;
		break;
	case OP_CAP:
		fn = env ? env->cap : NULL;
		break;
	default:
		break;
	}
	known = fn && fn(env->ctx, c->s, out);
	if (known && out->kind != MIG_V_UNKNOWN)
		return;
	if (c->deflt) {
		eval(c->deflt, env, out);
		return;
	}
	if (!known)
		set_unknown(out, c->op == OP_FIELD ? "a field not decoded yet"
				 : c->op == OP_CAP ? "capabilities not known"
				 : "a property not known");
}

static int cmp_vals(const struct mig_val *a, const struct mig_val *b)
{
	if (a->kind == MIG_V_STR)
		return strcmp(a->s, b->s);
	return a->i < b->i ? -1 : a->i > b->i;
}

static void eval(const struct mig_cond *c, const struct mig_cond_env *env,
		 struct mig_val *out)
{
	struct mig_val a, b;
	enum mig_tv t;
	bool unknown;

	switch (c->op) {
	case OP_INT:
		set_int(out, c->i);
		return;
	case OP_STR:
		out->kind = MIG_V_STR;
		out->s = c->s;
		out->why = NULL;
		return;
	case OP_UNKNOWN:
		set_unknown(out, c->s[0] ? c->s : "unknown");
		return;
	case OP_FIELD:
	case OP_PROP:
	case OP_MPROP:
	case OP_CAP:
		eval_term(c, env, out);
		return;
	case OP_VAR:
		switch (c->var) {
		case VAR_VERSION:
			if (env && env->has_version)
				set_int(out, env->version);
			else
				set_unknown(out, "version not known");
			return;
		case VAR_MACHINE:
		case VAR_SECTION: {
			const char *s = !env ? NULL
				: c->var == VAR_MACHINE ? env->machine
							: env->section;

			if (!s) {
				set_unknown(out, c->var == VAR_MACHINE
					    ? "machine type not known"
					    : "section not known");
				return;
			}
			out->kind = MIG_V_STR;
			out->s = s;
			out->why = NULL;
			return;
		}
		case VAR_MACHINE_VERSION: {
			int64_t mv;

			if (env && machine_version(env->machine, &mv))
				set_int(out, mv);
			else
				set_unknown(out, "machine type version not known");
			return;
		}
		case VAR_INSTANCE:
			if (env && env->has_instance)
				set_int(out, env->instance);
			else
				set_unknown(out, "instance not known");
			return;
		}
		return;
	case OP_NOT:
		eval(c->args[0], env, &a);
		t = truth(&a);
		if (t == MIG_TV_UNKNOWN)
			set_unknown(out, a.why ? a.why : "not a truth value");
		else
			set_int(out, t == MIG_TV_FALSE);
		return;
	case OP_AND:
	case OP_OR: {
		const char *why = NULL;
		bool short_val = c->op == OP_OR;	/* the deciding value */

		unknown = false;
		for (size_t i = 0; i < c->nargs; i++) {
			eval(c->args[i], env, &a);
			t = truth(&a);
			if (t == MIG_TV_UNKNOWN) {
				unknown = true;
				if (!why)
					why = a.why ? a.why : "not a truth value";
			} else if ((t == MIG_TV_TRUE) == short_val) {
				set_int(out, short_val);
				return;
			}
		}
		if (unknown)
			set_unknown(out, why);
		else
			set_int(out, !short_val);
		return;
	}
	case OP_IF:
		eval(c->args[0], env, &a);
		t = truth(&a);
		if (t != MIG_TV_UNKNOWN) {
			eval(c->args[t == MIG_TV_TRUE ? 1 : 2], env, out);
			return;
		}
		/* Both branches alike: the answer does not depend on it. */
		eval(c->args[1], env, out);
		eval(c->args[2], env, &b);
		if (out->kind == MIG_V_UNKNOWN || b.kind != out->kind ||
		    cmp_vals(out, &b))
			set_unknown(out, a.why ? a.why : "not a truth value");
		return;
	case OP_EQ:
	case OP_NE:
	case OP_LT:
	case OP_LE:
	case OP_GT:
	case OP_GE: {
		int r;

		eval(c->args[0], env, &a);
		eval(c->args[1], env, &b);
		if (a.kind == MIG_V_UNKNOWN || b.kind == MIG_V_UNKNOWN) {
			set_unknown(out, a.kind == MIG_V_UNKNOWN ? a.why : b.why);
			return;
		}
		if (a.kind != b.kind) {
			if (c->op == OP_EQ || c->op == OP_NE)
				set_int(out, c->op == OP_NE);
			else
				set_unknown(out, "comparing a string with a number");
			return;
		}
		r = cmp_vals(&a, &b);
		set_int(out, c->op == OP_EQ ? r == 0 : c->op == OP_NE ? r != 0
			     : c->op == OP_LT ? r < 0 : c->op == OP_LE ? r <= 0
			     : c->op == OP_GT ? r > 0 : r >= 0);
		return;
	}
	case OP_IN:
		eval(c->args[0], env, &a);
		if (a.kind == MIG_V_UNKNOWN) {
			*out = a;
			return;
		}
		for (size_t i = 1; i < c->nargs; i++) {
			eval(c->args[i], env, &b);
			if (b.kind == a.kind && !cmp_vals(&a, &b)) {
				set_int(out, 1);
				return;
			}
		}
		set_int(out, 0);
		return;
	case OP_MATCH:
		eval(c->args[0], env, &a);
		eval(c->args[1], env, &b);
		if (a.kind == MIG_V_UNKNOWN) {
			*out = a;
			return;
		}
		if (a.kind != MIG_V_STR || b.kind != MIG_V_STR) {
			set_unknown(out, "'match' needs a string");
			return;
		}
		set_int(out, fnmatch(b.s, a.s, 0) == 0);
		return;
	case OP_MIN:
	case OP_MAX:
	case OP_ADD:
	case OP_MUL:
	case OP_SUB:
	case OP_DIV:
	case OP_BAND: {
		int64_t acc = 0;

		for (size_t i = 0; i < c->nargs; i++) {
			eval(c->args[i], env, &a);
			if (a.kind != MIG_V_INT) {
				set_unknown(out, a.kind == MIG_V_UNKNOWN ? a.why
					    : "arithmetic on a string");
				return;
			}
			if (i == 0) {
				acc = a.i;
				continue;
			}
			switch (c->op) {
			case OP_MIN:
				acc = a.i < acc ? a.i : acc;
				break;
			case OP_MAX:
				acc = a.i > acc ? a.i : acc;
				break;
			case OP_ADD:
				if (__builtin_add_overflow(acc, a.i, &acc))
					goto overflow;
				break;
			case OP_MUL:
				if (__builtin_mul_overflow(acc, a.i, &acc))
					goto overflow;
				break;
			case OP_SUB:
				if (__builtin_sub_overflow(acc, a.i, &acc))
					goto overflow;
				break;
			case OP_DIV:
				if (a.i == 0 || (acc == INT64_MIN && a.i == -1)) {
					set_unknown(out, "division by zero");
					return;
				}
				acc /= a.i;
				break;
			case OP_BAND:
				acc &= a.i;
				break;
			default:
				break;
			}
		}
		set_int(out, acc);
		return;
overflow:
		set_unknown(out, "arithmetic overflow");
		return;
	}
	}
	set_unknown(out, "bad expression");
}

void mig_cond_eval(const struct mig_cond *c, const struct mig_cond_env *env,
		   struct mig_val *out)
{
	if (!c) {
		set_unknown(out, "no expression");
		return;
	}
	eval(c, env, out);
}

enum mig_tv mig_cond_test(const struct mig_cond *c,
			  const struct mig_cond_env *env, const char **why)
{
	struct mig_val v;
	enum mig_tv t;

	mig_cond_eval(c, env, &v);
	t = truth(&v);
	if (why)
		*why = t != MIG_TV_UNKNOWN ? NULL
		       : v.kind == MIG_V_STR ? "a string is not a truth value"
		       : v.why ? v.why : "unknown";
	return t;
}

/* ------------------------------------------------------------------ */
/* Printing                                                            */

struct buf {
	char *p;
	size_t len, cap;
	bool nomem;
};

static void put(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void put(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->nomem)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->p ? b->p + b->len : NULL,
			      b->p ? b->cap - b->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->nomem = true;
			return;
		}
		if (b->p && (size_t)n < b->cap - b->len) {
			b->len += (size_t)n;
			return;
		}
		{
			size_t ncap = (b->cap ? b->cap * 2 : 64) + (size_t)n;
			char *p = realloc(b->p, ncap);

			if (!p) {
				b->nomem = true;
				return;
			}
			b->p = p;
			b->cap = ncap;
		}
	}
}

static void text(struct buf *b, const struct mig_cond *c, bool top)
{
	static const char *const cmp[] = {
		[OP_EQ] = "==", [OP_NE] = "!=", [OP_LT] = "<",
		[OP_LE] = "<=", [OP_GT] = ">", [OP_GE] = ">=",
	};

	switch (c->op) {
	case OP_INT:
		if (c->is_bool)
			put(b, "%s", c->i ? "true" : "false");
		else
			put(b, "%" PRId64, c->i);
		return;
	case OP_STR:
		put(b, "\"%s\"", c->s);
		return;
	case OP_UNKNOWN:
		put(b, "unknown (%s)", c->s);
		return;
	case OP_FIELD:
	case OP_PROP:
	case OP_MPROP:
		put(b, "%s '%s'", c->op == OP_FIELD ? "field"
				  : c->op == OP_PROP ? "prop" : "machine prop",
		    c->s);
		if (c->deflt) {
			put(b, " (else ");
			text(b, c->deflt, true);
			put(b, ")");
		}
		return;
	case OP_CAP:
		put(b, "capability '%s'", c->s);
		return;
	case OP_VAR:
		put(b, "%s", var_names[c->var]);
		return;
	case OP_NOT:
		put(b, "not ");
		text(b, c->args[0], false);
		return;
	case OP_AND:
	case OP_OR:
		if (!top)
			put(b, "(");
		for (size_t i = 0; i < c->nargs; i++) {
			if (i)
				put(b, " %s ", c->op == OP_AND ? "and" : "or");
			text(b, c->args[i], false);
		}
		if (!top)
			put(b, ")");
		return;
	case OP_IF:
		put(b, "(if ");
		text(b, c->args[0], true);
		put(b, " then ");
		text(b, c->args[1], true);
		put(b, " else ");
		text(b, c->args[2], true);
		put(b, ")");
		return;
	case OP_EQ:
	case OP_NE:
	case OP_LT:
	case OP_LE:
	case OP_GT:
	case OP_GE:
		if (!top)
			put(b, "(");
		text(b, c->args[0], false);
		put(b, " %s ", cmp[c->op]);
		text(b, c->args[1], false);
		if (!top)
			put(b, ")");
		return;
	case OP_IN:
		text(b, c->args[0], false);
		put(b, " in [");
		for (size_t i = 1; i < c->nargs; i++) {
			if (i > 1)
				put(b, ", ");
			text(b, c->args[i], true);
		}
		put(b, "]");
		return;
	case OP_MATCH:
		text(b, c->args[0], false);
		put(b, " matches ");
		text(b, c->args[1], false);
		return;
	default:
		put(b, "%s(", op_name(c->op));
		for (size_t i = 0; i < c->nargs; i++) {
			if (i)
				put(b, ", ");
			text(b, c->args[i], true);
		}
		put(b, ")");
		return;
	}
}

char *mig_cond_text(const struct mig_cond *c)
{
	struct buf b = { 0 };

	if (!c)
		return strdup("none");
	text(&b, c, true);
	if (b.nomem) {
		free(b.p);
		return NULL;
	}
	return b.p ? b.p : strdup("");
}

json_t *mig_cond_json(const struct mig_cond *c)
{
	json_t *o, *a;

	switch (c->op) {
	case OP_INT:
		return c->is_bool ? json_boolean(c->i) : json_integer(c->i);
	case OP_STR:
		return json_string(c->s);
	case OP_VAR:
		o = json_object();
		json_object_set_new(o, "var", json_string(var_names[c->var]));
		return o;
	case OP_UNKNOWN:
	case OP_FIELD:
	case OP_PROP:
	case OP_MPROP:
	case OP_CAP:
		o = json_object();
		json_object_set_new(o, op_name(c->op), json_string(c->s));
		if (c->deflt)
			json_object_set_new(o, "default", mig_cond_json(c->deflt));
		return o;
	case OP_NOT:
		o = json_object();
		json_object_set_new(o, "not", mig_cond_json(c->args[0]));
		return o;
	case OP_IN:
		o = json_object();
		a = json_array();
		json_array_append_new(a, mig_cond_json(c->args[0]));
		{
			json_t *l = json_array();

			for (size_t i = 1; i < c->nargs; i++)
				json_array_append_new(l, mig_cond_json(c->args[i]));
			json_array_append_new(a, l);
		}
		json_object_set_new(o, "in", a);
		return o;
	default:
		o = json_object();
		a = json_array();
		for (size_t i = 0; i < c->nargs; i++)
			json_array_append_new(a, mig_cond_json(c->args[i]));
		json_object_set_new(o, op_name(c->op), a);
		return o;
	}
}
