# curve_train_bpb.gp - drawn by dqnlm-report from curve_train_bpb.dat; run: gnuplot curve_train_bpb.gp
set title 'Training episodes: final validation bits per byte (IQM, 95% band)' noenhanced
set xlabel 'env steps' noenhanced
set ylabel 'bits per byte (lower is better)' noenhanced
set key top right noenhanced
set grid
set style fill transparent solid 0.18 noborder
set terminal pngcairo size 960,600 font 'sans,11'
set output 'curve_train_bpb.png'
plot 'curve_train_bpb.dat' index 0 using 1:3:4 with filledcurves lc 1 notitle, \
     'curve_train_bpb.dat' index 0 using 1:2 with lines lw 2 lc 1 title 'eps-0.1 (5 runs)', 'curve_train_bpb.dat' index 1 using 1:3:4 with filledcurves lc 2 notitle, \
     'curve_train_bpb.dat' index 1 using 1:2 with lines lw 2 lc 2 title 'linear-decay (5 runs)', 'curve_train_bpb.dat' index 2 using 1:3:4 with filledcurves lc 3 notitle, \
     'curve_train_bpb.dat' index 2 using 1:2 with lines lw 2 lc 3 title 'ez-greedy (5 runs)', 'curve_train_bpb.dat' index 3 using 1:3:4 with filledcurves lc 4 notitle, \
     'curve_train_bpb.dat' index 3 using 1:2 with lines lw 2 lc 4 title 'boltzmann (5 runs)'
set terminal svg size 960,600 font 'sans,11' background '#ffffff'
set output 'curve_train_bpb.svg'
plot 'curve_train_bpb.dat' index 0 using 1:3:4 with filledcurves lc 1 notitle, \
     'curve_train_bpb.dat' index 0 using 1:2 with lines lw 2 lc 1 title 'eps-0.1 (5 runs)', 'curve_train_bpb.dat' index 1 using 1:3:4 with filledcurves lc 2 notitle, \
     'curve_train_bpb.dat' index 1 using 1:2 with lines lw 2 lc 2 title 'linear-decay (5 runs)', 'curve_train_bpb.dat' index 2 using 1:3:4 with filledcurves lc 3 notitle, \
     'curve_train_bpb.dat' index 2 using 1:2 with lines lw 2 lc 3 title 'ez-greedy (5 runs)', 'curve_train_bpb.dat' index 3 using 1:3:4 with filledcurves lc 4 notitle, \
     'curve_train_bpb.dat' index 3 using 1:2 with lines lw 2 lc 4 title 'boltzmann (5 runs)'
