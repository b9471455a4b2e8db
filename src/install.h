#ifndef CP_INSTALL_H
#define CP_INSTALL_H

int cp_cmd_install(int argc, char **argv);
int cp_cmd_uninstall(int argc, char **argv);

#endif
