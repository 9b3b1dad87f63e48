#ifndef WSD_TYPES_H
#define WSD_TYPES_H
#define UNIX_NAME_MAX 32
#endif
