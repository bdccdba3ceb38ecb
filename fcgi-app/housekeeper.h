/*
 * housekeeper.h: the one background process beside the workers.
 */
#ifndef FCGI_APP_HOUSEKEEPER_H
#define FCGI_APP_HOUSEKEEPER_H

/* Run until SIGTERM; returns the exit code. slot is its scoreboard slot. */
int housekeeper_main(unsigned slot);

#endif
