#ifndef CP_HANDLE_H
#define CP_HANDLE_H

int cp_cmd_handle(int argc, char **argv);

#endif
